// Synthetic interaction graphs for scaling studies.
//
// powerlaw: Chung-Lu style bipartite graph. User and item weights follow Zipf laws
//   w(rank k) = (k+1)^-alpha (ranks assigned to ids at random); an edge picks a user by weight, then
//   an item by weight. With C > 0 communities, user u and item i belong to community id % C, and an
//   edge stays inside its user's community with probability p_in (planted blocks), else picks any
//   item. Pairs are distinct; lines are split 7:1:2 into train/valid/test at random.
// tile: K copies of a real dataset with offset ids (copy c: user u -> u + c*n_users, item i ->
//   i + c*n_items); each line's item moves to a random other copy with probability `cross`.
#pragma once

#include <cstdint>
#include <string>

#include "graph/dataset.hpp"

namespace tkg {

struct PowerLawOptions {
  int64_t users = 1000;
  int64_t items = 1000;
  int64_t edges = 10000;     // distinct (user, item) pairs in total over all splits
  int64_t communities = 0;   // 0: no community structure
  double p_in = 0.9;         // probability an edge stays in its user's community
  double alpha_users = 0.7;  // Zipf exponents
  double alpha_items = 0.7;
  uint64_t seed = 1;
};
Dataset generate_powerlaw(const PowerLawOptions& opts);

struct TileOptions {
  int64_t copies = 2;
  double cross = 0.01;  // fraction of lines whose item moves to another copy
  uint64_t seed = 1;
};
Dataset tile_dataset(const Dataset& base, const TileOptions& opts);

// Writes DIR/train.txt, valid.txt (if non-empty), test.txt as edge lists, atomically.
// progress: print the writing phase's progress lines (tkg-gen).
void write_dataset_dir(const std::string& dir, const Dataset& ds, bool overwrite, const std::string& info, bool progress = false);

}  // namespace tkg
