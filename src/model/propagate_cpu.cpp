#include "model/propagate_cpu.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <atomic>
#include <cmath>
#include <functional>
#include <type_traits>

#include "common/error.hpp"
#include "common/phase_profile.hpp"
#include "model/propagate_avx2.hpp"

namespace tkg::propagate_cpu {

namespace {


// Vector helpers of the portable kernels, compiled for the baseline ISA (SSE2): they round the
// same way on every x86-64 CPU, so runs on different nodes of a cluster agree bit for bit. (An
// earlier build also carried "arch=haswell" clones, chosen only on CPUs of that model; they are
// gone: the AVX2 path in propagate_avx2.cpp is faster and rounds as these do.)
float dot_f32(const float* a, const float* b, int64_t d) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t t = 0; t < d; ++t) s += a[t] * b[t];
  return s;
}
double dot_f64(const double* a, const double* b, int64_t d) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t t = 0; t < d; ++t) s += a[t] * b[t];
  return s;
}
// y += a x
void axpy_f32(float a, const float* x, float* y, int64_t d) {
#pragma omp simd
  for (int64_t t = 0; t < d; ++t) y[t] += a * x[t];
}
void axpy_f64(double a, const double* x, double* y, int64_t d) {
#pragma omp simd
  for (int64_t t = 0; t < d; ++t) y[t] += a * x[t];
}
// y += a x + b z
void axpbz_f32(float a, const float* x, float b, const float* z, float* y, int64_t d) {
#pragma omp simd
  for (int64_t t = 0; t < d; ++t) y[t] += a * x[t] + b * z[t];
}
void axpbz_f64(double a, const double* x, double b, const double* z, double* y, int64_t d) {
#pragma omp simd
  for (int64_t t = 0; t < d; ++t) y[t] += a * x[t] + b * z[t];
}

inline float dot(const float* a, const float* b, int64_t d) { return dot_f32(a, b, d); }
inline double dot(const double* a, const double* b, int64_t d) { return dot_f64(a, b, d); }
inline void axpy(float a, const float* x, float* y, int64_t d) { axpy_f32(a, x, y, d); }
inline void axpy(double a, const double* x, double* y, int64_t d) { axpy_f64(a, x, y, d); }
inline void axpbz(float a, const float* x, float b, const float* z, float* y, int64_t d) { axpbz_f32(a, x, b, z, y, d); }
inline void axpbz(double a, const double* x, double b, const double* z, double* y, int64_t d) {
  axpbz_f64(a, x, b, z, y, d);
}

template <typename T>
inline T sigmoid(T t) {
  return T(1) / (T(1) + std::exp(-t));
}

// ω(t) and dω/dt for an attention kind.
template <typename T>
inline void omega(Attention att, T t, T* w, T* dw) {
  if (att == Attention::kTopK) {
    T s = sigmoid(t);
    *w = T(4) * s * (T(1) - s);
    *dw = *w * (T(1) - T(2) * s);
  } else if (att == Attention::kRelu) {
    *w = t > 0 ? t : T(0);
    *dw = t > 0 ? T(1) : T(0);
  } else {
    *w = T(1);
    *dw = T(0);
  }
}



// Edge k's attention weight a = norm·ω(c − β_u) from its cosine c, and (scored attentions)
// dom_out[k] = dω·norm: one expression for the forward and for the recomputation from kept
// cosines, so both give the same bits (the AVX2 forward computes it the same way).
template <typename T>
inline T edge_weight(const GraphPtrs& g, Attention att, int64_t v, int64_t k, T c, const T* beta, T* dom_out) {
  T a = static_cast<T>(g.norm[k]);
  if (att != Attention::kOne) {
    T om, dom;
    omega(att, c - beta[v < g.n_user_rows ? v : g.indices[k]], &om, &dom);  // β of the edge's user
    a *= om;
    dom_out[k] = dom * static_cast<T>(g.norm[k]);
  }
  return a;
}

// Runs f(row_begin, row_end) over work-balanced blocks in parallel.
// Set by KernelProgressScope on the thread that launches the kernels.
thread_local const std::function<void()>* t_progress = nullptr;  // set by KernelProgressScope

template <typename F>
void parallel_blocks(const std::vector<int64_t>& blocks, const F& f) {
  const int64_t nb = static_cast<int64_t>(blocks.size()) - 1;
  auto run = [&](int64_t b0, int64_t b1) {
    at::parallel_for(b0, b1, 1, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) f(blocks[k], blocks[k + 1]);
    });
  };
  if (!t_progress) return run(0, nb);
  // With a transfer in flight: the blocks in a few groups, the progress call between them.
  constexpr int64_t kGroups = 8;
  const int64_t step = std::max<int64_t>(1, (nb + kGroups - 1) / kGroups);
  for (int64_t b = 0; b < nb; b += step) {
    run(b, std::min(nb, b + step));
    (*t_progress)();
  }
}

std::atomic<bool> g_simd{true};
// Backward: skip the rows whose output gradient is all zero (TKG_SKIP_ZERO_ROWS=0 turns it off, for
// benchmarks against the full passes).
std::atomic<bool> g_skip_zero_rows{[] {
  const char* v = std::getenv("TKG_SKIP_ZERO_ROWS");
  return !(v && std::string(v) == "0");
}()};

bool simd_for(int64_t d) { return g_simd && avx2::supported(d); }

avx2::Csr csr_view(const GraphPtrs& g) {
  return avx2::Csr{g.indptr, g.csc_ptr, g.indices, g.csc_edge, g.norm, g.csc_row, g.n_user_rows};
}

}  // namespace

GraphPtrs ptrs(const LayerGraph& lg) {
  TKG_CHECK(static_cast<int64_t>(lg.csc_row.size()) == lg.indices.size(0), "layer graph without its csc_row");
  return GraphPtrs{lg.indptr.data_ptr<int64_t>(), lg.csc_ptr.data_ptr<int64_t>(), lg.indices.data_ptr<int32_t>(),
                   lg.csc_edge.data_ptr<int32_t>(), lg.csc_row.data(), lg.norm.data_ptr<float>(),
                   lg.n_own, lg.n_local, lg.indices.size(0), lg.n_user_rows, &lg.row_blocks, &lg.col_blocks};
}

namespace {

// inv[w] = 1 / max(‖x_w‖, 1e-12)   ->  [n_local]
template <typename T>
void inverse_norms(const T* x, int64_t n, int64_t d, T* inv) {
  at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) inv[w] = T(1) / std::max<T>(std::sqrt(dot(x + w * d, x + w * d, d)), T(1e-12));
  });
}

}  // namespace

// Forward. Also stores, per edge, the attention weight a_e and the cosine (for the backward),
// and inv [n_local] = 1/‖x‖ (E + n_local scalars: no E×d intermediate).
template <typename T>
void forward_kernel(const T* x, const T* beta, int64_t d, const GraphPtrs& g, Attention att, T* y, T* a_out,
                    T* cos_out, T* dom_out, T* inv) {
  const bool scored = att != Attention::kOne;
  if (scored) inverse_norms(x, g.n_local, d, inv);
  if constexpr (std::is_same_v<T, float>) {
    if (simd_for(d)) {
      const avx2::Csr c = csr_view(g);
      parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
        avx2::forward_rows(x, beta, d, c, static_cast<int>(att), b, e, inv, y, a_out, cos_out, dom_out);
      });
      return;
    }
  }
  parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      T* yv = y ? y + v * d : nullptr;  // nullptr: the per-edge scalars only (recomputation)
      const T* xv = x + v * d;
      if (yv) std::fill(yv, yv + d, T(0));
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
        const int64_t w = g.indices[k];
        const T* xw = x + w * d;
        T c = 0;
        if (scored) cos_out[k] = c = dot(xv, xw, d) * inv[v] * inv[w];
        const T a = edge_weight(g, att, v, k, c, beta, dom_out);
        a_out[k] = a;
        if (yv) axpy(a, xw, yv, d);
      }
    }
  });
}

// The forward's a and dom from its cosines: the same expressions (a = norm·ω, dom = dω·norm, in
// this order) on the same values, so the same bits as forward_kernel and the AVX2 forward.
template <typename T>
void weights_from_cos_kernel(const T* beta, const GraphPtrs& g, Attention att, const T* cos_e, T* a_out, T* dom_out) {
  const bool scored = att != Attention::kOne;
  parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v)
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) a_out[k] = edge_weight(g, att, v, k, scored ? cos_e[k] : T(0), beta, dom_out);
  });
}

// Rows of gy [n, d] with a nonzero entry, as flags; empty when more than 90 % of the rows have
// one (skipping would then save less than the per-edge check costs) or when skipping is off.
template <typename T>
std::vector<uint8_t> active_rows(const T* gy, int64_t n, int64_t d) {
  if (!g_skip_zero_rows || n == 0) return {};
  std::vector<uint8_t> act(static_cast<size_t>(n));
  at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      const T* r = gy + v * d;
      int64_t t = 0;
      while (t < d && r[t] == T(0)) ++t;
      act[v] = t < d;
    }
  });
  int64_t on = 0;
  for (uint8_t a : act) on += a;
  if (on * 10 > n * 9) return {};
  return act;
}

// Backward from the saved per-edge a_e, cos_e and inv.
template <typename T>
void backward_kernel(const T* x, const T* beta, const T* gy, int64_t d, const GraphPtrs& g, Attention att,
                     const T* a, const T* cos_e, const T* dom_e, const T* inv, T* gx, T* gbeta, T* gt_scratch) {
  const bool scored = att != Attention::kOne;
  // dL/dt per edge: in gt_scratch when given (it may be dom_e itself: edge k's dom is read just
  // before its dL/dt is written, and never again), else a buffer of its own.
  std::vector<T> own;
  if (scored && !gt_scratch) own.resize(static_cast<size_t>(g.nnz));
  struct {
    T* p;
    T* data() { return p; }
    T& operator[](int64_t k) { return p[k]; }
  } gt{gt_scratch ? gt_scratch : own.data()};
  // Rows whose output gradient is all zero (a mini-batch's top layers: only the batch's rows get
  // one): their edges add exact zeros, so both passes skip them.
  const std::vector<uint8_t> act = active_rows(gy, g.n_own, d);
  const uint8_t* active = act.empty() ? nullptr : act.data();
  if constexpr (std::is_same_v<T, float>) {
    if (simd_for(d)) {
      avx2::Csr c = csr_view(g);
      c.active = active;
      if (scored) {
        profile::Scope ps("layer.backward.rows");
        parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
          avx2::backward_rows(x, gy, d, c, b, e, cos_e, dom_e, inv, gt.data(), gx, gbeta);
        });
      }
      profile::Scope ps("layer.backward.columns");
      parallel_blocks(*g.col_blocks, [&](int64_t b, int64_t e) {
        avx2::backward_cols(x, gy, d, c, scored, b, e, a, gt.data(), cos_e, inv, gx, gbeta);
      });
      return;
    }
  }
  // Pass 1, by row v: dL/dt per edge, and the gradient through cos that lands on row v:
  //   d cos / d x_v = (x̂_w − cos x̂_v) / ‖x_v‖
  if (scored) {
    parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
      for (int64_t v = b; v < e; ++v) {
        if (active && !active[v]) {
          for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) gt[k] = 0;
          continue;
        }
        const T* gyv = gy + v * d;
        T* gxv = gx + v * d;
        T self = 0;  // coefficient of x_v, accumulated over the row
        for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
          const int64_t w = g.indices[k];
          const T* xw = x + w * d;
          const T c = cos_e[k];
          const T g_t = dot(gyv, xw, d) * dom_e[k];  // dom_e = ω'(t) / sqrt(d_v d_w)
          gt[k] = g_t;
          axpy(g_t * inv[w] * inv[v], xw, gxv, d);
          self -= g_t * c * inv[v] * inv[v];
          if (v < g.n_user_rows) gbeta[v] -= g_t;  // the row is the edge's user
        }
        axpy(self, x + v * d, gxv, d);
      }
    });
  }
  // Pass 2, by column w: message gradient a·gy_v and d cos / d x_w = (x̂_v − cos x̂_w) / ‖x_w‖.
  parallel_blocks(*g.col_blocks, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      T* gxw = gx + w * d;
      T self = 0;
      for (int64_t j = g.csc_ptr[w]; j < g.csc_ptr[w + 1]; ++j) {
        const int64_t k = g.csc_edge[j];
        const int64_t v = g.csc_row[j];
        if (active && !active[v]) continue;
        if (!scored) {
          axpy(a[k], gy + v * d, gxw, d);
          continue;
        }
        const T g_t = gt[k];
        axpbz(a[k], gy + v * d, g_t * inv[v] * inv[w], x + v * d, gxw, d);
        self -= g_t * cos_e[k] * inv[w] * inv[w];
        if (v >= g.n_user_rows) gbeta[w] -= g_t;  // the column is the edge's user
      }
      if (scored) axpy(self, x + w * d, gxw, d);
    }
  });
}

template void weights_from_cos_kernel<float>(const float*, const GraphPtrs&, Attention, const float*, float*, float*);
template void weights_from_cos_kernel<double>(const double*, const GraphPtrs&, Attention, const double*, double*, double*);
template void forward_kernel<float>(const float*, const float*, int64_t, const GraphPtrs&, Attention, float*, float*, float*, float*, float*);
template void forward_kernel<double>(const double*, const double*, int64_t, const GraphPtrs&, Attention, double*, double*, double*, double*, double*);
template void backward_kernel<float>(const float*, const float*, const float*, int64_t, const GraphPtrs&, Attention, const float*, const float*, const float*, const float*, float*, float*, float*);
template void backward_kernel<double>(const double*, const double*, const double*, int64_t, const GraphPtrs&, Attention, const double*, const double*, const double*, const double*, double*, double*, double*);

const std::function<void()>* set_kernel_progress(const std::function<void()>* p) {
  const std::function<void()>* old = t_progress;
  t_progress = p;
  return old;
}

void set_simd(bool on) { g_simd = on; }
void set_skip_zero_rows(bool on) { g_skip_zero_rows = on; }
bool simd(int64_t d) { return simd_for(d); }

}  // namespace tkg::propagate_cpu
