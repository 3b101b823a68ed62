// Top-K ranking metrics (DESIGN §2 "Evaluation").
//
// For a user with target set T (distinct items of the split) and a ranked list R (best first,
// train items already excluded), hits@K = |R[0..K) ∩ T|, and
//   precision@K      = hits / K
//   recall@K         = hits / |T|                (standard)
//   recall_capped@K  = hits / min(|T|, K)        (the official TopKGAT code; the paper's table)
//   ndcg@K           = Σ_{r<K, R[r]∈T} 1/log2(r+2)  /  Σ_{r<min(|T|,K)} 1/log2(r+2)
// Users with an empty T are skipped. Sums over users are kept so ranks can add them up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

struct MetricSums {
  std::vector<int> ks;                // ascending
  int64_t users = 0;                  // users evaluated (non-empty T)
  std::vector<double> precision, recall, recall_capped, ndcg;  // [ks.size()] sums over users
  std::vector<double> squares;        // [4 · ks.size()] sums of squares, same order (confidence intervals)

  explicit MetricSums(std::vector<int> k_list = {});
  // Adds one user. ranked: item ids best first (at least max K entries where available);
  // targets: ascending distinct item ids, non-empty.
  void add_user(const int64_t* ranked, int64_t n_ranked, const std::vector<int64_t>& targets);
  // Flattened sums [users, P.., R.., RC.., N.., squares..] for an all-reduce, and back.
  std::vector<double> pack() const;
  void unpack(const std::vector<double>& v);
  double mean(const std::string& name) const;  // "ndcg@20", "recall_capped@10", ...
  // Half-width of the 95 % confidence interval of the mean over users (1.96 standard errors,
  // sample variance over users): what a sampled evaluation's mean may be off by. 0 for < 2 users.
  double ci95(const std::string& name) const;
  std::vector<std::string> names() const;      // all metric names, in CSV column order
};

// Parses "1,3,5,10,20" (ascending, unique, 1..1000). Throws InputError naming `option`.
std::vector<int> parse_k_list(const std::string& text, const std::string& option);

}  // namespace tkg
