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

class BprFunction : public torch::autograd::Function<BprFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor local, at::Tensor negs, at::Tensor lu, at::Tensor li,
                            at::Tensor lj, double scale) {
    profile::Scope ps("bpr.forward");
    const bool same = local.is_same(negs);  // one table for users, positives and negatives
    local = local.contiguous();
    negs = negs.contiguous();
    const int64_t n = lu.size(0), d = local.size(1);
    at::Tensor diff = at::empty({n}, local.options());  // [n] s_neg − s_pos
    const float* L = local.data_ptr<float>();
    const float* Q = negs.data_ptr<float>();
    const int64_t *u = lu.data_ptr<int64_t>(), *i = li.data_ptr<int64_t>(), *j = lj.data_ptr<int64_t>();
    float* df = diff.data_ptr<float>();
    at::parallel_for(0, n, 2048, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        const float* xu = L + u[k] * d;
        df[k] = dot(xu, Q + j[k] * d, d) - dot(xu, L + i[k] * d, d);
      }
    });
    // Σ softplus in fixed chunks (partial sums added in chunk order): the same value at any
    // thread count.
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
    ctx->save_for_backward({local, negs, lu, li, lj, diff});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["same"] = same;
    return at::scalar_tensor(sum * scale, local.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    profile::Scope ps("bpr.backward");
    auto s = ctx->get_saved_variables();
    const at::Tensor &local = s[0], &negs = s[1], &lu = s[2], &li = s[3], &lj = s[4], &diff = s[5];
    const double c0 = ctx->saved_data["scale"].toDouble() * grad[0].item<double>();
    const int64_t n = lu.size(0), d = local.size(1);
    const bool same = ctx->saved_data["same"].toBool();
    at::Tensor gl = at::zeros_like(local), gp = same ? gl : at::zeros_like(negs);
    const float* L = local.data_ptr<float>();
    const float* Q = negs.data_ptr<float>();
    const int64_t *u = lu.data_ptr<int64_t>(), *i = li.data_ptr<int64_t>(), *j = lj.data_ptr<int64_t>();
    const float* df = diff.data_ptr<float>();
    float* GL = gl.data_ptr<float>();
    float* GP = gp.data_ptr<float>();
    // d softplus(x)/dx = σ(x); x = xu·xj − xu·xi. Per line k: c_k, then every gradient row
    // gathers its contributions (gu += c (xj − xi), gi −= c xu, gj += c xu) in line order, so the
    // rows are independent (parallel) and each sums in the order of a serial loop over the lines:
    // the same bits at any thread count.
    std::vector<float> c(static_cast<size_t>(n));
    at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) c[k] = static_cast<float>(c0 / (1.0 + std::exp(-static_cast<double>(df[k]))));
    });
    // Contributions (3k + role) grouped by target row, in line order (a stable counting sort,
    // parallel over chunks of lines: per chunk a histogram, then each chunk fills its slots);
    // negs rows follow the local rows when the tables differ.
    const int64_t rows_l = local.size(0), rows = rows_l + (same ? 0 : negs.size(0)), off_j = same ? 0 : rows_l;
    std::vector<int64_t> ptr(static_cast<size_t>(rows + 1), 0), entry(static_cast<size_t>(3 * n));
    const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (n + 65535) / 65536));
    const int64_t per_chunk = (n + n_chunks - 1) / n_chunks;
    std::vector<std::vector<int64_t>> slot(static_cast<size_t>(n_chunks));  // [chunk][row] next slot
    at::parallel_for(0, n_chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t ch = cb; ch < ce; ++ch) {
        std::vector<int64_t>& h = slot[ch];
        h.assign(static_cast<size_t>(rows), 0);
        for (int64_t k = ch * per_chunk, end = std::min(n, k + per_chunk); k < end; ++k)
          ++h[u[k]], ++h[i[k]], ++h[off_j + j[k]];
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
          entry[f[u[k]]++] = 3 * k;
          entry[f[i[k]]++] = 3 * k + 1;
          entry[f[off_j + j[k]]++] = 3 * k + 2;
        }
      }
    });
    constexpr int64_t kAhead = 4;  // entries whose rows are prefetched ahead
    at::parallel_for(0, rows, 64, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        if (ptr[r] == ptr[r + 1]) continue;
        float* g = r < rows_l ? GL + r * d : GP + (r - rows_l) * d;
        for (int64_t q = ptr[r]; q < ptr[r + 1]; ++q) {
          if (q + kAhead < ptr[e]) {
            const int64_t k2 = entry[q + kAhead] / 3, role2 = entry[q + kAhead] % 3;
            if (role2 == 0) {
              for (int64_t t = 0; t < d; t += 16) __builtin_prefetch(L + i[k2] * d + t), __builtin_prefetch(Q + j[k2] * d + t);
            } else {
              for (int64_t t = 0; t < d; t += 16) __builtin_prefetch(L + u[k2] * d + t);
            }
          }
          const int64_t k = entry[q] / 3, role = entry[q] % 3;
          const float ck = c[k];
          const float* xu = L + u[k] * d;
          if (role == 0) {
            const float *xi = L + i[k] * d, *xj = Q + j[k] * d;
            for (int64_t t = 0; t < d; ++t) g[t] += ck * (xj[t] - xi[t]);
          } else if (role == 1) {
            for (int64_t t = 0; t < d; ++t) g[t] -= ck * xu[t];
          } else {
            for (int64_t t = 0; t < d; ++t) g[t] += ck * xu[t];
          }
        }
      }
    });
    at::Tensor none;
    return {gl, same ? none : gp, none, none, none, none};
  }
};

}  // namespace

at::Tensor bpr_loss_fused(const at::Tensor& local, const at::Tensor& negs, const at::Tensor& lu, const at::Tensor& li,
                          const at::Tensor& lj, double scale) {
  TKG_CHECK(local.scalar_type() == at::kFloat && negs.scalar_type() == at::kFloat, "bpr_loss_fused takes float32");
  TKG_CHECK(local.dim() == 2 && negs.dim() == 2 && local.size(1) == negs.size(1), "local [n_local, d], negs [Q, d]");
  TKG_CHECK(lu.size(0) == li.size(0) && lu.size(0) == lj.size(0), "one u, i, j per line");
  if (!local.device().is_cpu()) return bpr_loss_reference(local, negs, lu, li, lj, scale);  // CPU kernel only
  return BprFunction::apply(local, negs, lu, li, lj, scale);
}

at::Tensor bpr_loss_reference(const at::Tensor& local, const at::Tensor& negs, const at::Tensor& lu,
                              const at::Tensor& li, const at::Tensor& lj, double scale) {
  at::Tensor xu = local.index_select(0, lu);
  at::Tensor diff = (xu * negs.index_select(0, lj)).sum(1) - (xu * local.index_select(0, li)).sum(1);
  return at::softplus(diff).sum() * scale;
}

}  // namespace tkg
