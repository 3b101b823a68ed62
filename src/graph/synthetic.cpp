#include "graph/synthetic.hpp"

#include "common/phase_progress.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/rng.hpp"

namespace tkg {

namespace {

// Cumulative Zipf weights over `ids` (weight of the k-th id is (k+1)^-alpha).
struct WeightedPicker {
  std::vector<int64_t> ids;
  std::vector<double> cum;  // cum[k] = Σ_{j<=k} w_j
  int64_t pick(Rng& rng) const {
    double x = rng.uniform() * cum.back();
    size_t k = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), x) - cum.begin());
    return ids[std::min(k, ids.size() - 1)];
  }
};

// Weight of each id: a random rank's Zipf weight.
std::vector<double> zipf_weights(int64_t n, double alpha, Rng& rng) {
  std::vector<int64_t> rank(static_cast<size_t>(n));
  std::iota(rank.begin(), rank.end(), 0);
  shuffle(rank, rng);
  std::vector<double> w(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) w[k] = std::pow(static_cast<double>(rank[k] + 1), -alpha);
  return w;
}

WeightedPicker make_picker(std::vector<int64_t> ids, const std::vector<double>& w) {
  WeightedPicker p;
  p.cum.resize(ids.size());
  double s = 0;
  for (size_t k = 0; k < ids.size(); ++k) p.cum[k] = (s += w[ids[k]]);
  p.ids = std::move(ids);
  return p;
}

}  // namespace

Dataset generate_powerlaw(const PowerLawOptions& o) {
  const std::string where = "tkg-gen --kind powerlaw";
  if (o.users < 1 || o.items < 1) throw InputError(where, 0, "--users and --items must be >= 1");
  if (o.edges < 1) throw InputError(where, 0, "--edges must be >= 1");
  if (o.users > kMaxId || o.items > kMaxId) throw InputError(where, 0, "--users/--items exceed 2^40-1");
  const long double pairs = static_cast<long double>(o.users) * static_cast<long double>(o.items);
  if (static_cast<long double>(o.edges) > 0.5L * pairs)
    throw InputError(where, 0, "--edges exceeds half of users*items; the graph would be too dense to sample");
  if (o.communities < 0 || o.communities > std::min(o.users, o.items))
    throw InputError(where, 0, "--communities must be in [0, min(users, items)]");
  if (!(o.p_in >= 0 && o.p_in <= 1)) throw InputError(where, 0, "--p-in must be in [0, 1]");
  if (!(o.alpha_users >= 0 && o.alpha_items >= 0)) throw InputError(where, 0, "Zipf exponents must be >= 0");

  Rng rng(o.seed);
  std::vector<double> wu = zipf_weights(o.users, o.alpha_users, rng);
  std::vector<double> wi = zipf_weights(o.items, o.alpha_items, rng);
  std::vector<int64_t> all_users(static_cast<size_t>(o.users)), all_items(static_cast<size_t>(o.items));
  std::iota(all_users.begin(), all_users.end(), 0);
  std::iota(all_items.begin(), all_items.end(), 0);
  WeightedPicker pick_user = make_picker(all_users, wu);
  WeightedPicker pick_item = make_picker(all_items, wi);
  std::vector<WeightedPicker> pick_item_in;
  if (o.communities > 0) {
    std::vector<std::vector<int64_t>> members(static_cast<size_t>(o.communities));
    for (int64_t i = 0; i < o.items; ++i) members[i % o.communities].push_back(i);
    for (auto& m : members) pick_item_in.push_back(make_picker(std::move(m), wi));
  }
  // Sample pairs as keys u * items + i (fits: users * items < 2^80 is checked below), dedupe,
  // and top up until `edges` distinct pairs exist.
  if (pairs >= 1.8e19L) throw InputError(where, 0, "users*items exceeds 2^64; pair keys would overflow");
  const uint64_t n_items = static_cast<uint64_t>(o.items);
  std::vector<uint64_t> keys;
  keys.reserve(static_cast<size_t>(o.edges + o.edges / 8));
  for (int round = 0; static_cast<int64_t>(keys.size()) < o.edges; ++round) {
    if (round > 50) throw InputError(where, 0, "could not sample enough distinct pairs; reduce --edges");
    int64_t need = o.edges - static_cast<int64_t>(keys.size());
    int64_t draw = need + need / 16 + 16;
    for (int64_t k = 0; k < draw; ++k) {
      int64_t u = pick_user.pick(rng);
      int64_t i;
      if (o.communities > 0 && rng.uniform() < o.p_in)
        i = pick_item_in[u % o.communities].pick(rng);
      else
        i = pick_item.pick(rng);
      keys.push_back(static_cast<uint64_t>(u) * n_items + static_cast<uint64_t>(i));
      if ((k & 0xFFFFF) == 0xFFFFF) progress::add(0x100000);  // every 1 Mi draws
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  // Drop random surplus pairs so exactly `edges` remain, keeping key order.
  if (static_cast<int64_t>(keys.size()) > o.edges) {
    std::vector<char> drop(keys.size(), 0);
    int64_t surplus = static_cast<int64_t>(keys.size()) - o.edges;
    while (surplus > 0) {
      size_t k = static_cast<size_t>(rng.below(keys.size()));
      if (!drop[k]) drop[k] = 1, --surplus;
    }
    size_t out = 0;
    for (size_t k = 0; k < keys.size(); ++k)
      if (!drop[k]) keys[out++] = keys[k];
    keys.resize(out);
  }
  Dataset ds;
  int64_t placed = 0;
  for (uint64_t key : keys) {
    if ((++placed & 0xFFFFF) == 0) progress::add(0x100000);
    double x = rng.uniform();
    EdgeList& el = x < 0.7 ? ds.train : (x < 0.8 ? ds.valid : ds.test);
    el.push(static_cast<int64_t>(key / n_items), static_cast<int64_t>(key % n_items));
  }
  finalize_dataset(ds);
  // Keep the declared sizes even if the largest ids were never drawn.
  ds.n_users = std::max(ds.n_users, o.users);
  ds.n_items = std::max(ds.n_items, o.items);
  return ds;
}

Dataset tile_dataset(const Dataset& base, const TileOptions& o) {
  const std::string where = "tkg-gen --kind tile";
  if (o.copies < 1) throw InputError(where, 0, "--copies must be >= 1");
  if (!(o.cross >= 0 && o.cross <= 1)) throw InputError(where, 0, "--cross must be in [0, 1]");
  if (base.n_users * o.copies > kMaxId || base.n_items * o.copies > kMaxId)
    throw InputError(where, 0, "tiled ids would exceed 2^40-1");
  Rng rng(o.seed);
  Dataset ds;
  const EdgeList* src[3] = {&base.train, &base.valid, &base.test};
  EdgeList* dst[3] = {&ds.train, &ds.valid, &ds.test};
  for (int t = 0; t < 3; ++t) {
    for (int64_t c = 0; c < o.copies; ++c) {
      for (int64_t k = 0; k < src[t]->size(); ++k) {
        int64_t item_copy = c;
        if (o.copies > 1 && rng.uniform() < o.cross) {
          item_copy = static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.copies - 1)));
          if (item_copy >= c) ++item_copy;
        }
        dst[t]->push(src[t]->user[k] + c * base.n_users, src[t]->item[k] + item_copy * base.n_items);
      }
    }
  }
  finalize_dataset(ds);
  ds.n_users = std::max(ds.n_users, base.n_users * o.copies);
  ds.n_items = std::max(ds.n_items, base.n_items * o.copies);
  return ds;
}

void write_dataset_dir(const std::string& dir, const Dataset& ds, bool overwrite, const std::string& info, bool progress) {
  namespace fs = std::filesystem;
  write_dir_atomic(dir, overwrite, [&](const std::string& tmp) {
    PhaseProgress p("tkg-gen", "writing " + dir, ds.train.size() + ds.valid.size() + ds.test.size(), 0, progress);
    write_edge_list((fs::path(tmp) / "train.txt").string(), ds.train);
    if (ds.valid.size() > 0) write_edge_list((fs::path(tmp) / "valid.txt").string(), ds.valid);
    write_edge_list((fs::path(tmp) / "test.txt").string(), ds.test);
    write_file_atomic((fs::path(tmp) / "info.txt").string(), info);
  });
}

}  // namespace tkg
