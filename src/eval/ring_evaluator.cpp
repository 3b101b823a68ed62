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
//   mask: the train items of each user (CSR: items[indptr[u] .. indptr[u+1]), global item ids);
//   rows[r]: the user of row r in `mask`; acc_row0: the accumulator row of row 0;
//   buf (CPU): at least nr * nb floats for the scores.
struct MaskCsr {
  const int64_t* indptr;
  const int64_t* items;
};
void score_block(const MaskCsr& mask, const at::Tensor& U, const at::Tensor& items, const int64_t* ids,
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
    for (int64_t k = mask.indptr[u]; k < mask.indptr[u + 1]; ++k) {
      const int64_t* it = std::lower_bound(ids, ids + nb, mask.items[k]);
      if (it != ids + nb && *it == mask.items[k]) mark(it - ids);
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

namespace {

// Scores the users `rows` (rows of U, users of `mask`) against the items in hand, in tiles,
// offering every tile to acc (rows acc_row0 ...). progress(f): fraction of this call's tiles done.
struct TileScorer {
  Tiling tl;
  int64_t blocks = 0, rows_per_block = 1, n = 0;
  bool tiles_in_parallel = false;
  std::vector<at::Tensor>* bufs = nullptr;
  void score(const MaskCsr& mask, const at::Tensor& U, const int64_t* rows, const at::Tensor& items, const int64_t* ids,
             int kmax, TopKAccumulator& acc, const std::function<void(double)>& progress) const {
    const int64_t n_cur = items.size(0);
    const int64_t chunks = std::max<int64_t>(1, (n_cur + tl.item_chunk - 1) / tl.item_chunk);
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t c0 = ch * tl.item_chunk, nc = std::min(tl.item_chunk, n_cur - c0);
      at::Tensor chunk = nc > 0 ? items.narrow(0, c0, nc) : at::Tensor();
      if (tiles_in_parallel) {
        if (nc > 0)
          at::parallel_for(0, blocks, 1, [&](int64_t bb, int64_t be) {
            at::Tensor* buf = &(*bufs)[static_cast<size_t>(at::get_thread_num())];
            for (int64_t b = bb; b < be; ++b) {
              const int64_t r0 = b * rows_per_block, nr = std::min(rows_per_block, n - r0);
              score_block(mask, U.narrow(0, r0, nr), chunk, ids + c0, rows + r0, r0, kmax, acc, buf, /*serial=*/true);
            }
          });
        if (progress) progress(static_cast<double>(ch + 1) / chunks);
        continue;
      }
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t r0 = b * rows_per_block, nr = std::min(rows_per_block, n - r0);
        if (nc > 0) score_block(mask, U.narrow(0, r0, nr), chunk, ids + c0, rows + r0, r0, kmax, acc, &(*bufs)[0]);
        if (progress) progress(static_cast<double>(ch * blocks + b + 1) / (chunks * blocks));
      }
    }
  }
};

}  // namespace

MetricSums ring_evaluate(const Shard& shard, const at::Tensor& final_owned, const OwnedUserItems& target,
                         const std::vector<int64_t>& users, const RingEvalOptions& o, Communicator& comm,
                         Communicator& tcomm, TopKAccumulator* keep, const std::function<void(double)>& progress) {
  at::NoGradGuard no_grad;
  TrafficScope scope(comm, Traffic::kEval), tscope(tcomm, Traffic::kEval);
  CollectiveSite site(comm, "ring_evaluate"), tsite(tcomm, "ring_evaluate");
  const int64_t nu = shard.n_own_users, ni = shard.n_own() - nu, n = static_cast<int64_t>(users.size());
  const int P = comm.size(), me = comm.rank();
  const at::Device device = final_owned.device();
  const int64_t w = final_owned.size(1);
  at::Tensor U = final_owned.narrow(0, 0, nu).index_select(0, long_tensor(users, device));  // [n, w] scored users
  at::Tensor own_items = final_owned.narrow(0, nu, ni).contiguous();                          // [ni, w]
  std::vector<int64_t> own_ids(static_cast<size_t>(ni));
  for (int64_t k = 0; k < ni; ++k) own_ids[k] = shard.owned[nu + k] - shard.n_users;
  // Train items (masks) of the scored users, as a CSR over their rows.
  std::vector<int64_t> mask_indptr(static_cast<size_t>(n + 1), 0), mask_items;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t u = users[r];
    mask_items.insert(mask_items.end(), shard.train.items.begin() + shard.train.indptr[u],
                      shard.train.items.begin() + shard.train.indptr[u + 1]);
    mask_indptr[r + 1] = static_cast<int64_t>(mask_items.size());
  }
  std::vector<int64_t> row_ids(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) row_ids[r] = r;
  // Per rank: [items, users, mask entries]; what each ring moves in all, in bytes.
  int64_t mine[3] = {ni, n, static_cast<int64_t>(mask_items.size())};
  std::vector<int64_t> all(static_cast<size_t>(3 * P));
  comm.all_gather_v(mine, 3, all.data(), std::vector<int64_t>(static_cast<size_t>(P), 3), DType::kInt64);
  std::vector<int64_t> sizes(static_cast<size_t>(P)), user_sizes(static_cast<size_t>(P)), mask_sizes(static_cast<size_t>(P));
  int64_t item_total = 0, user_total = 0, mask_total = 0;
  for (int p = 0; p < P; ++p) {
    sizes[p] = all[3 * p], user_sizes[p] = all[3 * p + 1], mask_sizes[p] = all[3 * p + 2];
    item_total += sizes[p], user_total += user_sizes[p], mask_total += mask_sizes[p];
  }
  const int kmax = std::max(o.ks.back(), keep ? keep->k() : 0);
  // Items ring: item rows and ids, P - 1 hops. Users ring: rows, masks and ids P - 1 hops, and the
  // partial lists (K scores + ids) back once. Integers identical on every rank: the same choice.
  const int64_t item_bytes = (P - 1) * item_total * (4 * w + 8);
  const int64_t user_bytes = (P - 1) * (user_total * (4 * w + 16) + mask_total * 8) + (P - 1) * user_total * kmax * 12;
  const bool users_ring = o.ring == "users" || (o.ring == "auto" && P > 1 && user_bytes < item_bytes);
  TopKAccumulator local_acc(keep ? 0 : n, keep ? 1 : kmax);
  TopKAccumulator& acc = keep ? *keep : local_acc;
  TKG_CHECK(acc.n_users() == n && acc.k() >= o.ks.back(), "top-K accumulator shape");
  int64_t max_items = 1, max_users = 1;
  for (int p = 0; p < P; ++p) max_items = std::max(max_items, sizes[p]), max_users = std::max(max_users, user_sizes[p]);
  // Users per score block: the tile [rows, item chunk] stays within its bytes for every item block.
  TileScorer ts;
  ts.tl = tiling(device, users_ring ? std::max<int64_t>(ni, 1) : max_items, o.block_bytes);
  ts.rows_per_block = ts.tl.rows_per_block;
  std::optional<SerialBlas> serial_blas;
  if (device.is_cpu() && at::get_num_threads() > 1) serial_blas.emplace();
  ts.tiles_in_parallel = serial_blas && serial_blas->active();
  // [rows_per_block * item_chunk] float32 score tiles (CPU), reused: one per thread when the tiles
  // are scored in parallel.
  std::vector<at::Tensor> bufs(static_cast<size_t>(ts.tiles_in_parallel ? at::get_num_threads() : 1));
  const int64_t max_rows = users_ring ? max_users : n;
  if (device.is_cpu() && max_rows > 0)
    for (at::Tensor& b : bufs) b = at::empty({std::min(ts.rows_per_block, max_rows) * ts.tl.item_chunk}, at::kFloat);
  ts.bufs = &bufs;
  auto set_rows = [&](int64_t rows) {
    ts.n = rows;
    ts.blocks = (rows + ts.rows_per_block - 1) / ts.rows_per_block;
  };
  const int next = (me + 1) % P, prev = (me - 1 + P) % P;
  if (!users_ring) {
    // Items travel: the block of rank me-s is in hand at step s.
    at::Tensor cur_emb = own_items;
    std::vector<int64_t> cur_ids = own_ids;
    set_rows(n);
    for (int s = 0; s < P; ++s) {
      ts.score(MaskCsr{mask_indptr.data(), mask_items.data()}, U, row_ids.data(), cur_emb, cur_ids.data(), kmax, acc,
               progress ? std::function<void(double)>([&](double f) { progress((s + f) / P); }) : std::function<void(double)>());
      if (s == P - 1) break;
      // Pass the block on around the ring: to me+1, from me-1 (the block of rank me-s-1).
      const int src = ((me - s - 1) % P + P) % P;
      std::vector<int64_t> send_counts(P, 0), recv_counts(P, 0);
      send_counts[next] = static_cast<int64_t>(cur_ids.size());
      recv_counts[prev] = sizes[src];
      std::vector<int64_t> next_ids(static_cast<size_t>(sizes[src]));
      comm.all_to_all_v(cur_ids.data(), send_counts, next_ids.data(), recv_counts, DType::kInt64);
      at::Tensor next_emb = exchange_rows(cur_emb, send_counts, recv_counts, sizes[src], tcomm);  // [n_src, w]
      cur_ids = std::move(next_ids);
      cur_emb = next_emb;
    }
  } else {
    // Users travel (rows and train items); each rank scores every visiting block against its own
    // items into a fresh list per user, and the lists go back to their owners at the end, where
    // they merge into the owner's lists (a top-K of top-Ks with the same tie rule: exact).
    at::Tensor cur_u = U;                                 // [n_src, w]
    std::vector<int64_t> cur_indptr = mask_indptr, cur_items = mask_items;
    std::vector<std::vector<float>> back_scores(static_cast<size_t>(P));  // per source rank: [n_src, kmax]
    std::vector<std::vector<int64_t>> back_ids(static_cast<size_t>(P));
    for (int s = 0; s < P; ++s) {
      const int src = ((me - s) % P + P) % P;
      const int64_t n_cur = user_sizes[src];
      std::vector<int64_t> rows(static_cast<size_t>(n_cur));
      for (int64_t r = 0; r < n_cur; ++r) rows[r] = r;
      set_rows(n_cur);
      auto prog = progress ? std::function<void(double)>([&](double f) { progress((s + f) / P); }) : std::function<void(double)>();
      if (s == 0) {
        ts.score(MaskCsr{cur_indptr.data(), cur_items.data()}, cur_u, rows.data(), own_items, own_ids.data(), kmax, acc, prog);
      } else {
        TopKAccumulator part(n_cur, kmax);
        ts.score(MaskCsr{cur_indptr.data(), cur_items.data()}, cur_u, rows.data(), own_items, own_ids.data(), kmax, part, prog);
        std::vector<float>& bs = back_scores[src];
        std::vector<int64_t>& bi = back_ids[src];
        bs.assign(static_cast<size_t>(n_cur * kmax), -std::numeric_limits<float>::infinity());
        bi.assign(static_cast<size_t>(n_cur * kmax), -1);
        for (int64_t r = 0; r < n_cur; ++r) part.entries(r, bs.data() + r * kmax, bi.data() + r * kmax);
      }
      if (s == P - 1) break;
      // Pass the users on: to me+1, from me-1 (the users of rank me-s-1): rows, then masks.
      const int from = ((me - s - 1) % P + P) % P;
      std::vector<int64_t> sc(P, 0), rc(P, 0);
      sc[next] = n_cur, rc[prev] = user_sizes[from];
      at::Tensor next_u = exchange_rows(cur_u, sc, rc, user_sizes[from], tcomm);  // [n_from, w]
      std::vector<int64_t> lens(static_cast<size_t>(n_cur)), next_lens(static_cast<size_t>(user_sizes[from]));
      for (int64_t r = 0; r < n_cur; ++r) lens[r] = cur_indptr[r + 1] - cur_indptr[r];
      comm.all_to_all_v(lens.data(), sc, next_lens.data(), rc, DType::kInt64);
      std::vector<int64_t> msc(P, 0), mrc(P, 0);
      msc[next] = static_cast<int64_t>(cur_items.size()), mrc[prev] = mask_sizes[from];
      std::vector<int64_t> next_items(static_cast<size_t>(mask_sizes[from]));
      comm.all_to_all_v(cur_items.data(), msc, next_items.data(), mrc, DType::kInt64);
      cur_indptr.assign(static_cast<size_t>(user_sizes[from] + 1), 0);
      for (int64_t r = 0; r < user_sizes[from]; ++r) cur_indptr[r + 1] = cur_indptr[r] + next_lens[r];
      cur_u = next_u.contiguous();
      cur_items = std::move(next_items);
    }
    // The partial lists home: to each source rank its users' [n_src, kmax] scores and ids.
    std::vector<int64_t> sc(P, 0), rc(P, 0);
    std::vector<float> send_s;
    std::vector<int64_t> send_i;
    for (int p = 0; p < P; ++p) {
      if (p == me) continue;
      sc[p] = user_sizes[p] * kmax;
      rc[p] = n * kmax;
      send_s.insert(send_s.end(), back_scores[p].begin(), back_scores[p].end());
      send_i.insert(send_i.end(), back_ids[p].begin(), back_ids[p].end());
    }
    std::vector<float> got_s(static_cast<size_t>((P - 1) * n * kmax));
    std::vector<int64_t> got_i(got_s.size());
    comm.all_to_all_v(send_s.data(), sc, got_s.data(), rc, DType::kFloat32);
    comm.all_to_all_v(send_i.data(), sc, got_i.data(), rc, DType::kInt64);
    for (int q = 0; q < P - 1; ++q)
      for (int64_t r = 0; r < n; ++r) {
        const size_t off = static_cast<size_t>((q * n + r) * kmax);
        int cnt = 0;
        while (cnt < kmax && got_i[off + cnt] >= 0) ++cnt;
        acc.offer(r, 1, got_s.data() + off, got_i.data() + off, cnt);
      }
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
  std::vector<int64_t> no_indptr(static_cast<size_t>(nr + 1), 0);  // no train items to mask
  const MaskCsr empty{no_indptr.data(), nullptr};
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
