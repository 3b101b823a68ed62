// Shards of the tiny dataset (tiny_dataset.hpp) built in memory, and an InputError matcher, for the
// shard and shard-file tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "shard/partition_dir.hpp"
#include "tiny_dataset.hpp"

namespace tkg::testing {

// The worked example of shard.hpp; rank 0 owns {u0, i1}, rank 1 owns {u1, i0}.
inline tkg::Dataset tiny() { return tkg::testing::tiny_dataset(); }

inline std::vector<tkg::Shard> build(const tkg::Dataset& ds, const std::vector<int32_t>& part, int32_t parts) {
  std::vector<tkg::Shard> out;
  tkg::build_shards(ds, part, parts, tkg::compute_partition_id(ds.n_users, ds.n_items, parts, part), nullptr,
                    [&](tkg::Shard&& s) { out.push_back(std::move(s)); });
  return out;
}

template <typename F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected InputError containing '" << needle << "'";
  } catch (const tkg::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace tkg::testing
