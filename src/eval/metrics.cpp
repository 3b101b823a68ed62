#include "eval/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/error.hpp"

namespace tkg {

MetricSums::MetricSums(std::vector<int> k_list)
    : ks(std::move(k_list)),
      precision(ks.size(), 0.0),
      recall(ks.size(), 0.0),
      recall_capped(ks.size(), 0.0),
      ndcg(ks.size(), 0.0),
      squares(4 * ks.size(), 0.0) {}

void MetricSums::add_user(const int64_t* ranked, int64_t n_ranked, const std::vector<int64_t>& targets) {
  if (targets.empty()) return;
  ++users;
  const int64_t t = static_cast<int64_t>(targets.size());
  int64_t hits = 0;
  double dcg = 0, idcg = 0;
  size_t next_k = 0;
  const int kmax = ks.empty() ? 0 : ks.back();
  for (int64_t r = 0; r < kmax; ++r) {
    if (r < n_ranked && std::binary_search(targets.begin(), targets.end(), ranked[r])) {
      ++hits;
      dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    }
    if (r < t) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    while (next_k < ks.size() && ks[next_k] == r + 1) {
      const double k = ks[next_k];
      const double v[4] = {static_cast<double>(hits) / k, static_cast<double>(hits) / static_cast<double>(t),
                           static_cast<double>(hits) / std::min(static_cast<double>(t), k), dcg / idcg};
      precision[next_k] += v[0];
      recall[next_k] += v[1];
      recall_capped[next_k] += v[2];
      ndcg[next_k] += v[3];
      for (int m = 0; m < 4; ++m) squares[m * ks.size() + next_k] += v[m] * v[m];
      ++next_k;
    }
  }
}

std::vector<double> MetricSums::pack() const {
  std::vector<double> v{static_cast<double>(users)};
  for (const auto* a : {&precision, &recall, &recall_capped, &ndcg, &squares}) v.insert(v.end(), a->begin(), a->end());
  return v;
}

void MetricSums::unpack(const std::vector<double>& v) {
  TKG_CHECK(v.size() == 1 + 8 * ks.size(), "metric vector size");
  users = static_cast<int64_t>(std::llround(v[0]));
  size_t o = 1;
  for (auto* a : {&precision, &recall, &recall_capped, &ndcg, &squares})
    for (double& x : *a) x = v[o++];
}

std::vector<std::string> MetricSums::names() const {
  std::vector<std::string> out;
  for (int k : ks)
    for (const char* n : {"precision", "recall", "recall_capped", "ndcg"}) out.push_back(std::string(n) + "@" + std::to_string(k));
  return out;
}

namespace {

// (metric index 0..3, K index) of "name@K".
std::pair<int, size_t> metric_slot(const std::vector<int>& ks, const std::string& name) {
  auto at = name.find('@');
  if (at == std::string::npos) throw InputError("metric", 0, "expected NAME@K, got '" + name + "'");
  std::string base = name.substr(0, at);
  int k = 0;
  try {
    k = std::stoi(name.substr(at + 1));
  } catch (const std::exception&) {
    throw InputError("metric", 0, "expected NAME@K, got '" + name + "'");
  }
  auto it = std::find(ks.begin(), ks.end(), k);
  if (it == ks.end()) throw InputError("metric", 0, "K=" + std::to_string(k) + " is not in the evaluated K list");
  const int m = base == "precision" ? 0 : base == "recall" ? 1 : base == "recall_capped" ? 2 : base == "ndcg" ? 3 : -1;
  if (m < 0) throw InputError("metric", 0, "unknown metric '" + base + "' (precision, recall, recall_capped, ndcg)");
  return {m, static_cast<size_t>(it - ks.begin())};
}

}  // namespace

double MetricSums::mean(const std::string& name) const {
  auto [m, i] = metric_slot(ks, name);
  const std::vector<double>* src[4] = {&precision, &recall, &recall_capped, &ndcg};
  return users ? (*src[m])[i] / static_cast<double>(users) : 0.0;
}

double MetricSums::ci95(const std::string& name) const {
  if (users < 2) return 0.0;
  auto [m, i] = metric_slot(ks, name);
  const double n = static_cast<double>(users), mu = mean(name);
  const double var = std::max(0.0, (squares[m * ks.size() + i] - n * mu * mu) / (n - 1));
  return 1.96 * std::sqrt(var / n);
}

std::vector<int> parse_k_list(const std::string& text, const std::string& option) {
  std::vector<int> ks;
  std::stringstream ss(text);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    tok.erase(0, tok.find_first_not_of(" \t"));
    tok.erase(tok.find_last_not_of(" \t") + 1);
    int k = 0;
    try {
      size_t used = 0;
      k = std::stoi(tok, &used);
      if (used != tok.size()) throw std::invalid_argument(tok);
    } catch (const std::exception&) {
      throw InputError(option, 0, "expected a comma-separated list of integers, got '" + text + "'");
    }
    if (k < 1 || k > 1000) throw InputError(option, 0, "each K must be in 1..1000, got " + std::to_string(k));
    if (!ks.empty() && k <= ks.back()) throw InputError(option, 0, "K list must be strictly ascending: '" + text + "'");
    ks.push_back(k);
  }
  if (ks.empty()) throw InputError(option, 0, "empty K list");
  return ks;
}

}  // namespace tkg
