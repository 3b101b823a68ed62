#include "model/bpr_loss.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "common/phase_profile.hpp"

namespace tkg {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kChunk = 4096;  // lines per partial sum of the loss

template <typename T>
inline T dot(const T* a, const T* b, int64_t d) {
  T s = 0;
  for (int64_t t = 0; t < d; ++t) s += a[t] * b[t];
  return s;
}

// Rows of the virtual table [a; b; c]: row r of block 0, 1 or 2.
struct Blocks {
  const float* p[3];
  int64_t end[3];  // cumulative row counts
  const float* row(int64_t r, int64_t d) const {
    return r < end[0] ? p[0] + r * d : r < end[1] ? p[1] + (r - end[0]) * d : p[2] + (r - end[1]) * d;
  }
};

template <typename I>
const I* idx(const at::Tensor& t) {
  return t.data_ptr<I>();
}

// Forward: per line s_neg − s_pos into df [n]; returns Σ softplus in fixed chunks (partial sums
// added in chunk order: the same value at any thread count).
template <typename I>
double forward_lines(const Blocks& T, int64_t d, const I* u, const I* i, const I* j, int64_t n, float* df) {
  at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const float* xu = T.row(u[k], d);
      df[k] = dot(xu, T.row(j[k], d), d) - dot(xu, T.row(i[k], d), d);
    }
  });
  const int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(static_cast<size_t>(n_chunks), 0.0);
  at::parallel_for(0, n_chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      for (int64_t k = c * kChunk, end = std::min(n, k + kChunk); k < end; ++k) {
        const double x = df[k];
        s += x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));  // softplus, stable
      }
      part[c] = s;
    }
  });
  double sum = 0;
  for (double s : part) sum += s;
  return sum;
}

// Backward: d softplus(x)/dx = σ(x); x = xu·xj − xu·xi. Per line k: c_k, then every gradient row
// gathers its contributions (gu += c (xj − xi), gi −= c xu, gj += c xu) in line order, so the
// rows are independent (parallel) and each sums in the order of a serial loop over the lines:
// the same bits at any thread count. E: the entry type (3k + role), 32 bits when 3n allows.
template <typename I, typename E>
void backward_lines(const Blocks& T, float* const G[3], int64_t rows, int64_t d, const I* u, const I* i, const I* j,
                    int64_t n, const float* df, double c0) {
  std::vector<float> c(static_cast<size_t>(n));
  at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) c[k] = static_cast<float>(c0 / (1.0 + std::exp(-static_cast<double>(df[k]))));
  });
  // Contributions grouped by target row, in line order (a stable counting sort, parallel over
  // chunks of lines: per chunk a histogram, then each chunk fills its slots).
  std::vector<int64_t> ptr(static_cast<size_t>(rows + 1), 0);
  std::vector<E> entry(static_cast<size_t>(3 * n));
  const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (n + 65535) / 65536));
  const int64_t per_chunk = (n + n_chunks - 1) / n_chunks;
  std::vector<std::vector<int64_t>> slot(static_cast<size_t>(n_chunks));  // [chunk][row] next slot
  at::parallel_for(0, n_chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t ch = cb; ch < ce; ++ch) {
      std::vector<int64_t>& h = slot[ch];
      h.assign(static_cast<size_t>(rows), 0);
      for (int64_t k = ch * per_chunk, end = std::min(n, k + per_chunk); k < end; ++k) ++h[u[k]], ++h[i[k]], ++h[j[k]];
    }
  });
  // Row r's entries: chunk 0's, then chunk 1's, ...; ptr = row starts.
  for (int64_t r = 0, acc = 0; r < rows; ++r) {
    ptr[r] = acc;
    for (int64_t ch = 0; ch < n_chunks; ++ch) {
      const int64_t cnt = slot[ch][r];
      slot[ch][r] = acc;
      acc += cnt;
    }
    ptr[r + 1] = acc;
  }
  at::parallel_for(0, n_chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t ch = cb; ch < ce; ++ch) {
      std::vector<int64_t>& f = slot[ch];
      for (int64_t k = ch * per_chunk, end = std::min(n, k + per_chunk); k < end; ++k) {
        entry[f[u[k]]++] = static_cast<E>(3 * k);
        entry[f[i[k]]++] = static_cast<E>(3 * k + 1);
        entry[f[j[k]]++] = static_cast<E>(3 * k + 2);
      }
    }
  });
  slot.clear();
  slot.shrink_to_fit();
  constexpr int64_t kAhead = 4;  // entries whose rows are prefetched ahead
  at::parallel_for(0, rows, 64, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      if (ptr[r] == ptr[r + 1]) continue;
      const int blk = r < T.end[0] ? 0 : r < T.end[1] ? 1 : 2;
      float* g = G[blk] + (r - (blk ? T.end[blk - 1] : 0)) * d;
      for (int64_t q = ptr[r]; q < ptr[r + 1]; ++q) {
        if (q + kAhead < ptr[e]) {
          const int64_t k2 = static_cast<int64_t>(entry[q + kAhead]) / 3, role2 = static_cast<int64_t>(entry[q + kAhead]) % 3;
          if (role2 == 0) {
            const float *pi = T.row(i[k2], d), *pj = T.row(j[k2], d);
            for (int64_t t = 0; t < d; t += 16) __builtin_prefetch(pi + t), __builtin_prefetch(pj + t);
          } else {
            const float* pu = T.row(u[k2], d);
            for (int64_t t = 0; t < d; t += 16) __builtin_prefetch(pu + t);
          }
        }
        const int64_t k = static_cast<int64_t>(entry[q]) / 3, role = static_cast<int64_t>(entry[q]) % 3;
        const float ck = c[k];
        const float* xu = T.row(u[k], d);
        if (role == 0) {
          const float *xi = T.row(i[k], d), *xj = T.row(j[k], d);
          for (int64_t t = 0; t < d; ++t) g[t] += ck * (xj[t] - xi[t]);
        } else if (role == 1) {
          for (int64_t t = 0; t < d; ++t) g[t] -= ck * xu[t];
        } else {
          for (int64_t t = 0; t < d; ++t) g[t] += ck * xu[t];
        }
      }
    }
  });
}

Blocks blocks_of(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  Blocks T{};
  const at::Tensor* t[3] = {&a, &b, &c};
  int64_t acc = 0;
  for (int k = 0; k < 3; ++k) {
    T.p[k] = t[k]->numel() ? t[k]->data_ptr<float>() : nullptr;
    acc += t[k]->size(0);
    T.end[k] = acc;
  }
  return T;
}

class BprFunction : public torch::autograd::Function<BprFunction> {
 public:
  // a, b, c: [r_a, d], [r_b, d], [r_c, d] float32 (b, c may have 0 rows); lu, li, lj [n] int32 or int64.
  static at::Tensor forward(AutogradContext* ctx, at::Tensor a, at::Tensor b, at::Tensor c, at::Tensor lu, at::Tensor li,
                            at::Tensor lj, double scale) {
    profile::Scope ps("bpr.forward");
    a = a.contiguous(), b = b.contiguous(), c = c.contiguous();
    const int64_t n = lu.size(0), d = a.size(1);
    at::Tensor diff = at::empty({n}, a.options());  // [n] s_neg − s_pos
    const Blocks T = blocks_of(a, b, c);
    double sum = 0;
    if (lu.scalar_type() == at::kInt)
      sum = forward_lines(T, d, idx<int32_t>(lu), idx<int32_t>(li), idx<int32_t>(lj), n, diff.data_ptr<float>());
    else
      sum = forward_lines(T, d, idx<int64_t>(lu), idx<int64_t>(li), idx<int64_t>(lj), n, diff.data_ptr<float>());
    ctx->save_for_backward({a, b, c, lu, li, lj, diff});
    ctx->saved_data["scale"] = scale;
    return at::scalar_tensor(sum * scale, a.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    profile::Scope ps("bpr.backward");
    auto s = ctx->get_saved_variables();
    const at::Tensor &a = s[0], &b = s[1], &c = s[2], &lu = s[3], &li = s[4], &lj = s[5], &diff = s[6];
    const double c0 = ctx->saved_data["scale"].toDouble() * grad[0].item<double>();
    const int64_t n = lu.size(0), d = a.size(1), rows = a.size(0) + b.size(0) + c.size(0);
    at::Tensor ga = at::zeros_like(a), gb = at::zeros_like(b), gc = at::zeros_like(c);
    float* G[3] = {ga.numel() ? ga.data_ptr<float>() : nullptr, gb.numel() ? gb.data_ptr<float>() : nullptr,
                   gc.numel() ? gc.data_ptr<float>() : nullptr};
    const Blocks T = blocks_of(a, b, c);
    const bool small = 3 * n < (int64_t{1} << 32);  // entries fit in 32 bits
    auto run = [&](auto tag) {
      using I = decltype(tag);
      if (small)
        backward_lines<I, uint32_t>(T, G, rows, d, idx<I>(lu), idx<I>(li), idx<I>(lj), n, diff.data_ptr<float>(), c0);
      else
        backward_lines<I, int64_t>(T, G, rows, d, idx<I>(lu), idx<I>(li), idx<I>(lj), n, diff.data_ptr<float>(), c0);
    };
    if (lu.scalar_type() == at::kInt)
      run(int32_t{});
    else
      run(int64_t{});
    at::Tensor none;
    return {ga, gb, gc, none, none, none, none};
  }
};

}  // namespace

namespace {
at::Tensor or_empty(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() ? t : at::empty({0, like.size(1)}, like.options());
}
}  // namespace

at::Tensor bpr_loss_fused(const at::Tensor& a, const at::Tensor& b_in, const at::Tensor& c_in, const at::Tensor& lu,
                          const at::Tensor& li, const at::Tensor& lj, double scale) {
  const at::Tensor b = or_empty(b_in, a), c = or_empty(c_in, a);
  TKG_CHECK(a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat && c.scalar_type() == at::kFloat,
            "bpr_loss_fused takes float32");
  TKG_CHECK(a.dim() == 2 && b.dim() == 2 && c.dim() == 2 && b.size(1) == a.size(1) && c.size(1) == a.size(1),
            "blocks [r, d] of one width");
  TKG_CHECK(lu.size(0) == li.size(0) && lu.size(0) == lj.size(0), "one u, i, j per line");
  TKG_CHECK(lu.scalar_type() == li.scalar_type() && lu.scalar_type() == lj.scalar_type() &&
                (lu.scalar_type() == at::kInt || lu.scalar_type() == at::kLong),
            "line rows are int32 or int64, all three alike");
  if (!a.device().is_cpu()) return bpr_loss_reference(a, b, c, lu, li, lj, scale);  // CPU kernel only
  return BprFunction::apply(a, b, c, lu, li, lj, scale);
}

at::Tensor bpr_loss_reference(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c, const at::Tensor& lu,
                              const at::Tensor& li, const at::Tensor& lj, double scale) {
  const at::Tensor t = at::cat({a, or_empty(b, a), or_empty(c, a)}, 0);  // [rows, d]
  at::Tensor xu = t.index_select(0, lu);
  at::Tensor diff = (xu * t.index_select(0, lj)).sum(1) - (xu * t.index_select(0, li)).sum(1);
  return at::softplus(diff).sum() * scale;
}

}  // namespace tkg
