#include "model/lambda_weights.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace tkg {

std::vector<float> lambda_weights(const std::vector<int64_t>& lu, const float* sp, const float* sn) {
  const int64_t n = static_cast<int64_t>(lu.size());
  std::vector<float> w(static_cast<size_t>(n), 0.0f);
  std::vector<std::pair<float, int64_t>> list;  // (score, 2k for the positive of line k, 2k+1 for its negative)
  std::vector<double> rank_of;
  for (int64_t b = 0; b < n;) {
    int64_t e = b;
    while (e < n && lu[e] == lu[b]) ++e;
    const int64_t m = e - b;
    list.clear();
    for (int64_t k = b; k < e; ++k) list.emplace_back(sp[k], 2 * (k - b)), list.emplace_back(sn[k], 2 * (k - b) + 1);
    std::sort(list.begin(), list.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    rank_of.assign(static_cast<size_t>(2 * m), 0.0);
    for (size_t r = 0; r < list.size(); ++r) rank_of[list[r].second] = static_cast<double>(r + 1);
    double idcg = 0;
    for (int64_t r = 1; r <= m; ++r) idcg += 1.0 / std::log2(1.0 + static_cast<double>(r));
    for (int64_t k = b; k < e; ++k) {
      const double ri = rank_of[2 * (k - b)], rj = rank_of[2 * (k - b) + 1];
      w[k] = static_cast<float>(std::fabs(1.0 / std::log2(1.0 + ri) - 1.0 / std::log2(1.0 + rj)) / idcg);
    }
    b = e;
  }
  return w;
}

}  // namespace tkg
