#include "run/memory_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/memory.hpp"
#include "format/shard_file.hpp"
#include "shard/partition_dir.hpp"

namespace tkg {

namespace {

constexpr double kMiB = 1048576.0;
constexpr int kCountFields = 16;

void pack(const ShardCounts& c, int64_t* v) {
  const int64_t f[kCountFields] = {c.rank, c.parts, c.n_users, c.n_items, c.n_own, c.n_own_users, c.n_halo, c.nnz,
                                   c.nnz_boundary, c.boundary_rows, c.n_send, c.train_lines, c.valid_lines, c.test_lines,
                                   c.shard_bytes, c.csr_bytes};
  std::copy(f, f + kCountFields, v);
}
ShardCounts unpack(const int64_t* v) {
  ShardCounts c;
  c.rank = static_cast<int32_t>(v[0]), c.parts = static_cast<int32_t>(v[1]), c.n_users = v[2], c.n_items = v[3];
  c.n_own = v[4], c.n_own_users = v[5], c.n_halo = v[6], c.nnz = v[7], c.nnz_boundary = v[8], c.boundary_rows = v[9];
  c.n_send = v[10], c.train_lines = v[11], c.valid_lines = v[12], c.test_lines = v[13], c.shard_bytes = v[14], c.csr_bytes = v[15];
  return c;
}

int threads_of(const RunOptions& o) { return o.threads > 0 ? o.threads : std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN))); }

// Projection, labelled as such: the counts of one rank of a partition into `parts` parts, from
// this rank's counts at c.parts (nodes, lines and edges scale as 1/parts; halo and boundary as
// measured per rank, which over-states them slightly at larger P on power-law graphs).
ShardCounts project_parts(const ShardCounts& c, int parts) {
  ShardCounts p = c;
  const double s = static_cast<double>(c.parts) / parts;
  auto sc = [s](int64_t v) { return static_cast<int64_t>(static_cast<double>(v) * s); };
  p.parts = parts;
  p.n_own = sc(c.n_own), p.n_own_users = sc(c.n_own_users), p.nnz = sc(c.nnz), p.train_lines = sc(c.train_lines);
  p.valid_lines = sc(c.valid_lines), p.test_lines = sc(c.test_lines), p.shard_bytes = sc(c.shard_bytes), p.csr_bytes = sc(c.csr_bytes);
  p.nnz_boundary = std::min(p.nnz, c.nnz_boundary), p.boundary_rows = std::min(p.n_own, c.boundary_rows);
  return p;
}

struct Alternative {
  std::string what;
  int64_t bytes;  // on the fullest node (exact plans), or per rank (projections)
  bool fits;
};

}  // namespace

MemoryCheck check_memory(const RunOptions& o, const ShardCounts& counts, int64_t base, Communicator& comm) {
  CollectiveSite site(comm, "memory_check");
  const int P = comm.size(), me = comm.rank();
  MemoryCheck out;
  // Every rank's counts and its node's memory, on every rank.
  std::vector<int64_t> mine(kCountFields + 4);
  pack(counts, mine.data());
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  mine[kCountFields] = static_cast<int64_t>(std::hash<std::string>{}(host) & 0x7fffffffffffffffLL);
  mine[kCountFields + 1] = available_memory_bytes() - std::max<int64_t>(0, current_rss_bytes());  // MemAvailable alone
  mine[kCountFields + 2] = std::max<int64_t>(0, current_rss_bytes());
  mine[kCountFields + 3] = base;
  const int W = kCountFields + 4;
  std::vector<int64_t> all(static_cast<size_t>(W) * P);
  comm.all_gather_v(mine.data(), W, all.data(), std::vector<int64_t>(P, W), DType::kInt64);
  const int threads = threads_of(o);
  TrainOptions train = o.train;  // host_cache_mb may fall back to 0 below
  auto plan_of = [&](int r, const ModelOptions& m) {
    return plan_memory(unpack(&all[static_cast<size_t>(W) * r]), m, train, all[static_cast<size_t>(W) * r + kCountFields + 3], threads);
  };
  // Per node: Σ predicted peaks against MemAvailable + the ranks' resident bytes now.
  auto node_fit = [&](const ModelOptions& m, int64_t* worst_need, int64_t* worst_have) {
    std::map<int64_t, std::pair<int64_t, int64_t>> node;  // host -> (need, have)
    std::map<int64_t, int64_t> avail;
    for (int r = 0; r < P; ++r) {
      const int64_t* v = &all[static_cast<size_t>(W) * r];
      auto& n = node[v[kCountFields]];
      n.first += worst_case_peak(plan_of(r, m));
      n.second += v[kCountFields + 2];
      auto it = avail.find(v[kCountFields]);
      avail[v[kCountFields]] = it == avail.end() ? v[kCountFields + 1] : std::min(it->second, v[kCountFields + 1]);
    }
    bool fits = true;
    *worst_need = 0, *worst_have = 0;
    for (auto& [h, n] : node) {
      // What the node has, less the headroom left for the system and the prediction's error.
      const int64_t have = avail[h] < 0 ? -1 : static_cast<int64_t>(static_cast<double>(avail[h] + n.second) * (1.0 - o.train.memory_headroom));
      if (have >= 0 && n.first > have) fits = false;
      if (*worst_need == 0 || (have >= 0 && n.first - have > *worst_need - *worst_have)) *worst_need = n.first, *worst_have = have;
    }
    return fits;
  };
  ModelOptions m = o.model;
  int64_t need = 0, have = 0;
  bool fits = node_fit(m, &need, &have);
  std::string note;
  if (!fits && train.host_cache_mb < 0) {  // auto: no allocator cache before anything else
    train.host_cache_mb = 0;
    fits = node_fit(m, &need, &have);
    note = "train.host_cache_mb auto -> 0: the plan does not fit with the allocator's cache of freed blocks";
  }
  if (!fits && m.recompute == "auto") {
    ModelOptions a = m;
    a.recompute = "all";
    int64_t need2 = 0, have2 = 0;
    if (node_fit(a, &need2, &have2)) {
      note += std::string(note.empty() ? "" : "; ") +
              "model.recompute auto -> all: the plan fits only when every layer recomputes its forward in the backward";
      m = a, need = need2, have = have2, fits = true;
    }
  }
  // Rank 0 decides (the same arithmetic everywhere, but its decision is the one that counts).
  int64_t decision[3] = {fits ? 1 : 0, m.recompute == "all" ? 2 : m.recompute == "none" ? 0 : 1, train.host_cache_mb == 0 ? 1 : 0};
  comm.broadcast(decision, sizeof decision, 0);
  out.fits = decision[0] != 0;
  train.host_cache_mb = decision[2] ? 0 : o.train.host_cache_mb;  // rank 0's choice, on every rank
  out.recompute = decision[1] == 2 ? "all" : decision[1] == 0 ? "none" : "weights";
  m.recompute = out.recompute;  // rank 0's mode, on every rank
  out.host_cache = plan_of(me, m).host_cache;
  int worst = 0;
  for (int r = 0; r < P; ++r) {
    const MemoryPlan p = plan_of(r, m);
    out.predicted_mb.push_back(static_cast<double>(p.peak) / kMiB);
    out.predicted_device_mb.push_back(static_cast<double>(p.device_peak) / kMiB);
    if (p.peak > plan_of(worst, m).peak) worst = r;
  }
  if (me == 0 && o.progress) {
    const MemoryPlan p = plan_of(worst, m);
    std::printf("memory plan: rank %d of %d (the largest), %lld nodes owned, %lld halo, %lld local edges, %lld train lines\n%s",
                worst, P, static_cast<long long>(unpack(&all[static_cast<size_t>(W) * worst]).n_own),
                static_cast<long long>(unpack(&all[static_cast<size_t>(W) * worst]).n_halo),
                static_cast<long long>(unpack(&all[static_cast<size_t>(W) * worst]).nnz),
                static_cast<long long>(unpack(&all[static_cast<size_t>(W) * worst]).train_lines), format_plan(p).c_str());
    std::printf("memory plan: the fullest node needs %.0f MiB for its ranks, has %.0f MiB%s (train.memory_headroom %.0f %% left free)\n",
                static_cast<double>(need) / kMiB, static_cast<double>(have) / kMiB, have < 0 ? " (unknown)" : "",
                100 * o.train.memory_headroom);
    if (!note.empty()) std::printf("memory plan: %s\n", note.c_str());
    std::fflush(stdout);
  }
  if (out.fits || o.train.memory_check == "off") return out;
  // What would fit: exact plans for the options, a projection for more ranks.
  std::string why;
  if (me == 0) {
    std::vector<Alternative> alt;
    auto total = [&](const ModelOptions& mm) {
      int64_t n = 0, h = 0;
      const bool ok = node_fit(mm, &n, &h);
      return std::make_pair(n, ok);
    };
    ModelOptions a = o.model;
    a.recompute = "all";
    auto [na, fa] = total(a);
    alt.push_back({"model.recompute = all: on the fullest node", na, fa});
    if (train.moments != "bf16" && o.model.device == "cpu") {  // rounds the table's Adam moments (docs/memory.md)
      train.moments = "bf16";
      auto [nb, fb] = total(a);
      train.moments = o.train.moments;
      alt.push_back({"train.moments = bf16 with model.recompute = all: on the fullest node", nb, fb});
    }
    ModelOptions g = a;
    g.quant.bits = 2, g.quant.warmup_epochs = 0;
    auto [ng, fg] = total(g);
    alt.push_back({"GNAQ (quant.bits = 2) with model.recompute = all: on the fullest node", ng, fg});
    // More ranks (on more nodes): a projection from this partition's largest rank.
    int ranks_here = 0;
    for (int r = 0; r < P; ++r) ranks_here += all[static_cast<size_t>(W) * r + kCountFields] == all[static_cast<size_t>(W) * worst + kCountFields];
    for (int more : {2 * P, 4 * P}) {
      const ShardCounts c = project_parts(unpack(&all[static_cast<size_t>(W) * worst]), more);
      const int64_t per = plan_memory(c, a, train, all[static_cast<size_t>(W) * worst + kCountFields + 3], threads).peak;
      alt.push_back({std::to_string(more) + " ranks with model.recompute = all (projection): per rank", per,
                     have >= 0 && per * std::max(1, ranks_here) <= have});
    }
    char line[256];
    std::snprintf(line, sizeof line, "the plan needs %.0f MiB on the fullest node, which has %.0f MiB available (less %.0f %% headroom). Options:\n",
                  static_cast<double>(need) / kMiB, static_cast<double>(have) / kMiB, 100 * o.train.memory_headroom);
    why = line;
    for (const Alternative& x : alt) {
      std::snprintf(line, sizeof line, "  %-76s %8.0f MiB%s\n", x.what.c_str(), static_cast<double>(x.bytes) / kMiB,
                    x.fits ? "  (fits)" : "");
      why += line;
    }
    why += "(train.memory_check = warn runs anyway)";
  }
  if (o.train.memory_check == "warn") {
    if (me == 0) std::fprintf(stderr, "tkg-train: warning: %s\n", why.c_str());
    return out;
  }
  throw InputError("memory plan", 0, me == 0 ? why : "the plan does not fit (rank 0 prints the table)");
}

int print_partition_plan(const RunOptions& o, int64_t base) {
  const PartitionMeta meta = read_partition_meta(o.partition_dir);
  const int threads = threads_of(o);
  std::vector<MemoryPlan> plans;
  std::vector<ShardCounts> counts;
  for (int r = 0; r < meta.parts; ++r) counts.push_back(count_shard_file(o.partition_dir + "/" + shard_file_name(r)));
  const int64_t avail = available_memory_bytes();
  TrainOptions train = o.train;
  int worst = 0;
  int64_t total = 0, worst_case = 0;  // worst_case: with the whole allocator cache, as check_memory counts it
  auto plan_all = [&] {
    plans.clear();
    worst = 0, total = 0, worst_case = 0;
    for (int r = 0; r < meta.parts; ++r) {
      plans.push_back(plan_memory(counts[r], o.model, train, base, threads));
      total += plans.back().peak;
      worst_case += worst_case_peak(plans.back());
      if (plans.back().peak > plans[worst].peak) worst = r;
    }
  };
  plan_all();
  // As at the start of a run on one node: auto drops the allocator's cache when the node would not hold it.
  const bool no_cache = train.host_cache_mb < 0 && avail >= 0 &&
                        static_cast<double>(worst_case) > static_cast<double>(avail) * (1 - o.train.memory_headroom);
  if (no_cache) {
    train.host_cache_mb = 0;
    plan_all();
  }
  std::printf("memory plan for %s (%d parts, model.recompute = %s):\n", o.partition_dir.c_str(), meta.parts, plans[worst].recompute.c_str());
  for (int r = 0; r < meta.parts; ++r)
    std::printf("  rank %d: %lld owned, %lld halo, %lld edges, %lld train lines: predicted peak %.0f MiB%s\n", r,
                static_cast<long long>(counts[r].n_own), static_cast<long long>(counts[r].n_halo), static_cast<long long>(counts[r].nnz),
                static_cast<long long>(counts[r].train_lines), static_cast<double>(plans[r].peak) / kMiB,
                plans[r].device_peak ? (" (device " + std::to_string(static_cast<long long>(plans[r].device_peak / kMiB)) + " MiB)").c_str() : "");
  std::printf("largest rank (%d):\n%s", worst, format_plan(plans[worst]).c_str());
  if (no_cache) std::printf("train.host_cache_mb auto -> 0: one node does not hold the plan with the allocator's cache of freed blocks\n");
  std::printf("all %d ranks on one node: %.0f MiB; this machine has %.0f MiB available, %.0f MiB after the %.0f %% headroom (%s)\n",
              meta.parts, static_cast<double>(total) / kMiB, static_cast<double>(avail) / kMiB,
              static_cast<double>(avail) * (1 - o.train.memory_headroom) / kMiB, 100 * o.train.memory_headroom,
              static_cast<double>(total) <= static_cast<double>(avail) * (1 - o.train.memory_headroom) ? "fits" : "does not fit");
  return 0;
}

}  // namespace tkg
