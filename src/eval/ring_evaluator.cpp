#include "eval/ring_evaluator.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/phase_profile.hpp"
#include "model/collective_ops.hpp"
#include "model/index_tensor.hpp"

namespace tkg {

namespace {



// On the CPU a score tile is [users × item chunk] of at most this many bytes (it stays in cache
// between the matrix product and the top-K pass) and its buffer is reused; eval.block_bytes
// bounds it further. On a GPU a block covers all items in hand, within eval.block_bytes.
constexpr int64_t kCpuTileBytes = int64_t{4} << 20;
constexpr int64_t kCpuItemChunk = 8192;

// Scores one block of users against items and offers them to the top-K lists.
//   U: [nr, w] rows of the block's users; items: [nb, w]; ids: the items' global ids (ascending);
//   rows[r]: the local user of row r (for its train items); acc_row0: the accumulator row of row 0;
//   buf (CPU): at least nr * nb floats for the scores.
void score_block(const Shard& s, const at::Tensor& U, const at::Tensor& items, const int64_t* ids,
                 const int64_t* rows, int64_t acc_row0, int kmax, TopKAccumulator& acc, at::Tensor* buf = nullptr,
                 bool serial = false) {
  const int64_t nr = U.size(0), nb = items.size(0);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  std::optional<profile::Scope> ps;  // timed only when called from the main thread
  if (!serial) ps.emplace("eval.scores");
  at::Tensor scores;  // [nr, nb] on the rows' device
  if (buf && U.device().is_cpu()) {
    scores = buf->narrow(0, 0, nr * nb).view({nr, nb});
    at::mm_out(scores, U, items.t());
  } else {
    scores = at::mm(U, items.t()).contiguous();
  }
  if (!serial) ps.emplace("eval.mask_topk");
  // Train items of a row's user that are among these items.
  auto masked = [&](int64_t r, auto&& mark) {
    const int64_t u = rows[r];
    for (int64_t k = s.train.indptr[u]; k < s.train.indptr[u + 1]; ++k) {
      const int64_t* it = std::lower_bound(ids, ids + nb, s.train.items[k]);
      if (it != ids + nb && *it == s.train.items[k]) mark(it - ids);
    }
  };
  if (scores.device().is_cpu()) {
    float* sc = scores.data_ptr<float>();
    if (serial) {
      for (int64_t r = 0; r < nr; ++r) {
        masked(r, [&](int64_t c) { sc[r * nb + c] = neg_inf; });
        acc.offer(acc_row0 + r, 1, sc + r * nb, ids, nb);
      }
      return;
    }
    at::parallel_for(0, nr, 16, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        masked(r, [&](int64_t c) { sc[r * nb + c] = neg_inf; });
        acc.offer(acc_row0 + r, 1, sc + r * nb, ids, nb);
      }
    });
    return;
  }
  // On a GPU: mask there, keep each row's best kmax there, and offer only those to the host.
  std::vector<int64_t> mr, mc;
  for (int64_t r = 0; r < nr; ++r) masked(r, [&](int64_t c) { mr.push_back(r), mc.push_back(c); });
  if (!mr.empty())
    scores.index_put_({long_tensor(mr, scores.device()), long_tensor(mc, scores.device())},
                      at::scalar_tensor(neg_inf, scores.options()));
  const int64_t kb = std::min<int64_t>(kmax, nb);
  auto best = at::topk(scores, kb, /*dim=*/1);
  at::Tensor vals = std::get<0>(best).to(at::kCPU).contiguous();  // [nr, kb] float32
  at::Tensor cols = std::get<1>(best).to(at::kCPU).contiguous();  // [nr, kb] int64
  const float* vp = vals.data_ptr<float>();
  const int64_t* cp = cols.data_ptr<int64_t>();
  at::parallel_for(0, nr, 64, [&](int64_t b, int64_t e) {
    std::vector<int64_t> got(static_cast<size_t>(kb));
    for (int64_t r = b; r < e; ++r) {
      for (int64_t j = 0; j < kb; ++j) got[j] = ids[cp[r * kb + j]];
      acc.offer(acc_row0 + r, 1, vp + r * kb, got.data(), kb);
    }
  });
}

// OpenBLAS's own thread count, reached through dlsym (present when LibTorch's BLAS is OpenBLAS).
// During a CPU evaluation each intra-op thread computes whole score tiles with a single-threaded
// BLAS and ranks them while they are in its cache: BLAS threads and LibTorch's threads no
// longer take turns on the cores (their spinning slowed the matrix products 2x).
class SerialBlas {
 public:
  SerialBlas() {
    set_ = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!set_ || !get) {
      set_ = nullptr;
      return;
    }
    saved_ = get();
    set_(1);
  }
  ~SerialBlas() {
    if (set_) set_(saved_);
  }
  bool active() const { return set_ != nullptr; }

 private:
  void (*set_)(int) = nullptr;
  int saved_ = 1;
};

// Tiling of a rank's scoring: items in chunks, users in blocks (one [block × chunk] score tile).
struct Tiling {
  int64_t item_chunk = 1, rows_per_block = 1;
};

Tiling tiling(const at::Device& device, int64_t max_items, int64_t block_bytes) {
  Tiling t;
  if (device.is_cpu()) {
    t.item_chunk = std::max<int64_t>(1, std::min(kCpuItemChunk, max_items));
    t.rows_per_block = std::max<int64_t>(1, std::min(kCpuTileBytes, block_bytes) / (4 * t.item_chunk));
  } else {
    t.item_chunk = std::max<int64_t>(1, max_items);
    t.rows_per_block = std::max<int64_t>(1, block_bytes / (4 * t.item_chunk));
  }
  return t;
}

}  // namespace

MetricSums ring_evaluate(const Shard& shard, const at::Tensor& final_owned, const OwnedUserItems& target,
                         const std::vector<int64_t>& users, const RingEvalOptions& o, Communicator& comm,
                         Communicator& tcomm, TopKAccumulator* keep, const std::function<void(double)>& progress) {
  at::NoGradGuard no_grad;
  TrafficScope scope(comm, Traffic::kEval), tscope(tcomm, Traffic::kEval);
  const int64_t nu = shard.n_own_users, ni = shard.n_own() - nu, n = static_cast<int64_t>(users.size());
  const int P = comm.size(), me = comm.rank();
  const at::Device device = final_owned.device();
  at::Tensor U = final_owned.narrow(0, 0, nu).index_select(0, long_tensor(users, device));  // [n, w] scored users
  at::Tensor cur_emb = final_owned.narrow(0, nu, ni).contiguous();                            // [ni, w] the block in hand
  std::vector<int64_t> cur_ids(static_cast<size_t>(ni));
  for (int64_t k = 0; k < ni; ++k) cur_ids[k] = shard.owned[nu + k] - shard.n_users;
  std::vector<int64_t> sizes = comm.all_gather_one(ni);
  const int kmax = std::max(o.ks.back(), keep ? keep->k() : 0);
  TopKAccumulator local_acc(keep ? 0 : n, keep ? 1 : kmax);
  TopKAccumulator& acc = keep ? *keep : local_acc;
  TKG_CHECK(acc.n_users() == n && acc.k() >= o.ks.back(), "top-K accumulator shape");
  int64_t max_items = 1;
  for (int64_t sz : sizes) max_items = std::max(max_items, sz);
  // Users per score block: the tile [rows, item chunk] stays within its bytes for every item block.
  const Tiling tl = tiling(device, max_items, o.block_bytes);
  const int64_t rows_per_block = tl.rows_per_block;
  const int64_t blocks = (n + rows_per_block - 1) / rows_per_block;
  std::optional<SerialBlas> serial_blas;
  if (device.is_cpu() && at::get_num_threads() > 1) serial_blas.emplace();
  const bool tiles_in_parallel = serial_blas && serial_blas->active();
  // [rows_per_block * item_chunk] float32 score tiles (CPU), reused: one per thread when the tiles
  // are scored in parallel.
  std::vector<at::Tensor> bufs(static_cast<size_t>(tiles_in_parallel ? at::get_num_threads() : 1));
  if (device.is_cpu() && n > 0)
    for (at::Tensor& b : bufs) b = at::empty({std::min(rows_per_block, n) * tl.item_chunk}, at::kFloat);
  for (int s = 0; s < P; ++s) {
    const int64_t n_cur = static_cast<int64_t>(cur_ids.size());
    const int64_t chunks = std::max<int64_t>(1, (n_cur + tl.item_chunk - 1) / tl.item_chunk);
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t c0 = ch * tl.item_chunk, nc = std::min(tl.item_chunk, n_cur - c0);
      at::Tensor chunk = nc > 0 ? cur_emb.narrow(0, c0, nc) : at::Tensor();
      if (tiles_in_parallel) {
        if (nc > 0)
          at::parallel_for(0, blocks, 1, [&](int64_t bb, int64_t be) {
            at::Tensor* buf = &bufs[static_cast<size_t>(at::get_thread_num())];
            for (int64_t b = bb; b < be; ++b) {
              const int64_t r0 = b * rows_per_block, nr = std::min(rows_per_block, n - r0);
              score_block(shard, U.narrow(0, r0, nr), chunk, cur_ids.data() + c0, users.data() + r0, r0, kmax, acc, buf,
                          /*serial=*/true);
            }
          });
        if (progress) progress((static_cast<double>(s) + static_cast<double>(ch + 1) / chunks) / P);
        continue;
      }
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t r0 = b * rows_per_block, nr = std::min(rows_per_block, n - r0);
        if (nc > 0) score_block(shard, U.narrow(0, r0, nr), chunk, cur_ids.data() + c0, users.data() + r0, r0, kmax, acc, &bufs[0]);
        if (progress) progress((static_cast<double>(s) + static_cast<double>(ch * blocks + b + 1) / (chunks * blocks)) / P);
      }
    }
    if (s == P - 1) break;
    // Pass the block on around the ring: to me+1, from me-1 (the block of rank me-s-1).
    const int next = (me + 1) % P, prev = (me - 1 + P) % P, src = ((me - s - 1) % P + P) % P;
    std::vector<int64_t> send_counts(P, 0), recv_counts(P, 0);
    send_counts[next] = static_cast<int64_t>(cur_ids.size());
    recv_counts[prev] = sizes[src];
    std::vector<int64_t> next_ids(static_cast<size_t>(sizes[src]));
    comm.all_to_all_v(cur_ids.data(), send_counts, next_ids.data(), recv_counts, DType::kInt64);
    at::Tensor next_emb = exchange_rows(cur_emb, send_counts, recv_counts, sizes[src], tcomm);  // [n_src, w]
    cur_ids = std::move(next_ids);
    cur_emb = next_emb;
  }
  profile::Scope ps("eval.metrics");
  serial_blas.reset();
  MetricSums sums(o.ks);
  std::vector<int64_t> targets;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t u = users[r];
    targets.assign(target.items.begin() + target.indptr[u], target.items.begin() + target.indptr[u + 1]);
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    if (targets.empty()) continue;
    std::vector<int64_t> ranked = acc.ranked(r);
    sums.add_user(ranked.data(), static_cast<int64_t>(ranked.size()), targets);
  }
  std::vector<double> packed = sums.pack();
  comm.all_reduce_sum(packed.data(), static_cast<int64_t>(packed.size()));
  sums.unpack(packed);
  return sums;
}

double probe_score_rate(int64_t dim, const at::Device& device, int k) {
  at::NoGradGuard no_grad;
  const int64_t nr = 256, nb = 16384;
  at::Tensor U = at::randn({nr, dim}).to(device), I = at::randn({nb, dim}).to(device);  // [nr, d], [nb, d]
  std::vector<int64_t> ids(static_cast<size_t>(nb));
  for (int64_t j = 0; j < nb; ++j) ids[j] = j;
  Shard empty;  // no train items to mask
  empty.n_own_users = nr;
  empty.train.indptr.assign(static_cast<size_t>(nr + 1), 0);
  std::vector<int64_t> rows(static_cast<size_t>(nr), 0);
  TopKAccumulator acc(nr, k);
  const Tiling tl = tiling(device, nb, int64_t{64} << 20);
  at::Tensor buf = device.is_cpu() ? at::empty({nr * nb}, at::kFloat) : at::Tensor();
  score_block(empty, U.narrow(0, 0, 16), I, ids.data(), rows.data(), 0, k, acc, &buf);  // warm-up
  const double t0 = now_s();
  int reps = 0;
  do {
    for (int64_t c0 = 0; c0 < nb; c0 += tl.item_chunk) {
      const int64_t nc = std::min(tl.item_chunk, nb - c0);
      for (int64_t r0 = 0; r0 < nr; r0 += tl.rows_per_block)
        score_block(empty, U.narrow(0, r0, std::min(tl.rows_per_block, nr - r0)), I.narrow(0, c0, nc), ids.data() + c0,
                    rows.data(), r0, k, acc, &buf);
    }
    ++reps;
  } while (now_s() - t0 < 0.05);
  return static_cast<double>(reps) * nr * nb / std::max(1e-9, now_s() - t0);
}

}  // namespace tkg
