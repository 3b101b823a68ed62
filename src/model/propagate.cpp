#include "model/propagate.hpp"
#include "model/propagate_avx2.hpp"

#ifdef TKG_HAVE_CUDA_KERNELS
#include "model/propagate_cuda.hpp"
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>
#include <functional>
#include <cmath>
#include <type_traits>

#include "common/error.hpp"
#include "common/phase_profile.hpp"
#include "shard/shard.hpp"

namespace tkg {

Attention parse_attention(const std::string& name) {
  if (name == "topk") return Attention::kTopK;
  if (name == "one" || name == "lightgcn") return Attention::kOne;
  if (name == "relu") return Attention::kRelu;
  if (name == "softmax") return Attention::kSoftmax;
  throw InputError("model.attention", 0, "unknown attention '" + name + "' (expected topk, one, relu or softmax)");
}

const char* attention_name(Attention a) {
  switch (a) {
    case Attention::kTopK: return "topk";
    case Attention::kOne: return "one";
    case Attention::kRelu: return "relu";
    case Attention::kSoftmax: return "softmax";
  }
  return "?";
}

LayerGraph build_layer_graph(const Shard& s, EdgeSet edges) {
  LayerGraph g;
  const int64_t n_own = s.n_own();
  auto keep = [&](int64_t col) {
    return edges == EdgeSet::kAll || (edges == EdgeSet::kInterior ? col < n_own : col >= n_own);
  };
  auto i64 = at::TensorOptions().dtype(at::kLong);
  // The shard rows the graph has: all owned rows, or (boundary) those with a halo neighbour.
  std::vector<int64_t> rows;
  if (edges == EdgeSet::kBoundary) {
    for (int64_t v = 0; v < n_own; ++v) {
      bool any = false;
      for (int64_t k = s.indptr[v]; k < s.indptr[v + 1] && !any; ++k) any = keep(s.indices[k]);
      if (any) rows.push_back(v);
    }
  }
  const bool compact = edges == EdgeSet::kBoundary;
  g.n_own = compact ? static_cast<int64_t>(rows.size()) : n_own;
  // Interior edges reach owned columns only, so their graph has no halo columns.
  g.n_local = edges == EdgeSet::kInterior ? n_own : g.n_own + s.n_halo();
  auto shard_row = [&](int64_t r) { return compact ? rows[static_cast<size_t>(r)] : r; };
  auto column = [&](int64_t w) { return compact ? g.n_own + (w - n_own) : w; };  // compact: w is halo
  g.indptr = at::empty({g.n_own + 1}, i64);
  int64_t* ip = g.indptr.data_ptr<int64_t>();
  ip[0] = 0;
  for (int64_t r = 0; r < g.n_own; ++r) {
    const int64_t v = shard_row(r);
    int64_t n = 0;
    for (int64_t k = s.indptr[v]; k < s.indptr[v + 1]; ++k) n += keep(s.indices[k]);
    ip[r + 1] = ip[r] + n;
  }
  const int64_t nnz = ip[g.n_own];
  g.indices = at::empty({nnz}, i64);
  g.edge_row = at::empty({nnz}, i64);
  g.edge_user = at::empty({nnz}, i64);
  g.norm = at::empty({nnz}, at::TensorOptions().dtype(at::kDouble));
  int64_t* col = g.indices.data_ptr<int64_t>();
  int64_t* row = g.edge_row.data_ptr<int64_t>();
  int64_t* user = g.edge_user.data_ptr<int64_t>();
  double* norm = g.norm.data_ptr<double>();
  for (int64_t r = 0, k = 0; r < g.n_own; ++r) {
    const int64_t v = shard_row(r);
    for (int64_t e = s.indptr[v]; e < s.indptr[v + 1]; ++e) {
      const int64_t w = s.indices[e];
      if (!keep(w)) continue;
      col[k] = column(w);
      row[k] = r;
      user[k] = v < s.n_own_users ? r : column(w);
      norm[k] = 1.0 / std::sqrt(static_cast<double>(s.degree[v]) * static_cast<double>(s.degree[w]));
      ++k;
    }
  }
  if (compact) g.rows = at::tensor(rows, i64);
  g.csc_ptr = at::zeros({g.n_local + 1}, i64);
  g.csc_edge = at::empty({nnz}, i64);
  int64_t* cp = g.csc_ptr.data_ptr<int64_t>();
  int64_t* ce = g.csc_edge.data_ptr<int64_t>();
  for (int64_t k = 0; k < nnz; ++k) ++cp[col[k] + 1];
  for (int64_t w = 0; w < g.n_local; ++w) cp[w + 1] += cp[w];
  std::vector<int64_t> fill(cp, cp + g.n_local);
  for (int64_t k = 0; k < nnz; ++k) ce[fill[col[k]]++] = k;
  // Balanced blocks: cut whenever a block reaches nnz/256 edges (plus one per row for the
  // per-row overhead).
  auto blocks = [](const int64_t* ptr, int64_t rows) {
    std::vector<int64_t> b{0};
    const int64_t target = std::max<int64_t>(1, (ptr[rows] + rows) / 256);
    int64_t acc = 0;
    for (int64_t r = 0; r < rows; ++r) {
      acc += ptr[r + 1] - ptr[r] + 1;
      if (acc >= target) b.push_back(r + 1), acc = 0;
    }
    if (b.back() != rows) b.push_back(rows);
    return b;
  };
  g.csc_row.resize(static_cast<size_t>(nnz));
  g.csc_col_user.resize(static_cast<size_t>(nnz));
  for (int64_t j = 0; j < nnz; ++j) {
    const int64_t k = ce[j];
    g.csc_row[j] = row[k];
    g.csc_col_user[j] = user[k] == col[k];
  }
  g.row_blocks = blocks(g.indptr.data_ptr<int64_t>(), g.n_own);
  g.col_blocks = blocks(cp, g.n_local);
  return g;
}

// ---------------------------------------------------------------------------------------------
// Reference (ATen ops, autograd)

at::Tensor propagate_reference(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att) {
  TKG_CHECK(x.dim() == 2 && x.size(0) == g.n_local, "x must be [n_local, d]");
  TKG_CHECK(beta.dim() == 1 && beta.size(0) == g.n_local, "beta must be [n_local]");
  at::Tensor norm = g.norm.to(x.scalar_type());
  at::Tensor a;
  if (att == Attention::kOne) {
    a = norm;
  } else {
    at::Tensor xh = x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
    at::Tensor cos = (xh.index_select(0, g.edge_row) * xh.index_select(0, g.indices)).sum(1);
    at::Tensor t = cos - beta.index_select(0, g.edge_user);
    switch (att) {
      case Attention::kTopK: a = 4.0 * at::sigmoid(t) * at::sigmoid(-t) * norm; break;
      case Attention::kRelu: a = at::relu(t) * norm; break;
      case Attention::kSoftmax: {
        at::Tensor e = at::exp(t);  // t in [-2, 2]: no overflow, no max shift needed
        at::Tensor denom = at::zeros({g.n_own}, x.options()).index_add(0, g.edge_row, e);
        a = e / denom.index_select(0, g.edge_row);
        break;
      }
      default: break;
    }
  }
  return at::zeros({g.n_own, x.size(1)}, x.options())
      .index_add(0, g.edge_row, a.unsqueeze(1) * x.index_select(0, g.indices));
}

// ---------------------------------------------------------------------------------------------
// Fused kernels

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

struct GraphPtrs {
  const int64_t *indptr, *indices, *edge_row, *edge_user, *csc_ptr, *csc_edge;
  const double* norm;
  int64_t n_own, n_local, nnz;
  const std::vector<int64_t>* row_blocks;
  const std::vector<int64_t>* col_blocks;
  const LayerGraph* graph;
};

// Runs f(row_begin, row_end) over work-balanced blocks in parallel.
// Set by KernelProgressScope on the thread that launches the kernels.
thread_local const std::function<void()>* t_progress = nullptr;

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

avx2::Csr csr_view(const GraphPtrs& g) {
  return avx2::Csr{g.indptr, g.indices, g.edge_row, g.edge_user, g.csc_ptr, g.csc_edge, g.norm,
                   g.graph->csc_row.data(), g.graph->csc_col_user.data()};
}

GraphPtrs ptrs(const at::Tensor& indptr, const at::Tensor& indices, const at::Tensor& edge_row,
               const at::Tensor& edge_user, const at::Tensor& norm, const at::Tensor& csc_ptr,
               const at::Tensor& csc_edge, const LayerGraph* lg) {
  return GraphPtrs{indptr.data_ptr<int64_t>(),   indices.data_ptr<int64_t>(), edge_row.data_ptr<int64_t>(),
                   edge_user.data_ptr<int64_t>(), csc_ptr.data_ptr<int64_t>(), csc_edge.data_ptr<int64_t>(),
                   norm.data_ptr<double>(),       indptr.size(0) - 1,          csc_ptr.size(0) - 1,
                   indices.size(0),               &lg->row_blocks,             &lg->col_blocks, lg};
}

// inv[w] = 1 / max(‖x_w‖, 1e-12)   ->  [n_local]
template <typename T>
void inverse_norms(const T* x, int64_t n, int64_t d, T* inv) {
  at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) inv[w] = T(1) / std::max<T>(std::sqrt(dot(x + w * d, x + w * d, d)), T(1e-12));
  });
}

// Forward. Also stores, per edge, the attention weight a_e and the cosine (for the backward),
// and inv [n_local] = 1/‖x‖ (E + n_local scalars: no E×d intermediate).
template <typename T>
void forward_kernel(const T* x, const T* beta, int64_t d, const GraphPtrs& g, Attention att, T* y, T* a_out,
                    T* cos_out, T* dom_out, T* inv) {
  const bool scored = att != Attention::kOne;
  if (scored) inverse_norms(x, g.n_local, d, inv);
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_simd_kernels(d)) {
      const avx2::Csr c = csr_view(g);
      parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
        avx2::forward_rows(x, beta, d, c, static_cast<int>(att), b, e, inv, y, a_out, cos_out, dom_out);
      });
      return;
    }
  }
  parallel_blocks(*g.row_blocks, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      T* yv = y + v * d;
      const T* xv = x + v * d;
      std::fill(yv, yv + d, T(0));
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
        const int64_t w = g.indices[k];
        const T* xw = x + w * d;
        T a = static_cast<T>(g.norm[k]);
        if (scored) {
          const T c = dot(xv, xw, d) * inv[v] * inv[w];
          T om, dom;
          omega(att, c - beta[g.edge_user[k]], &om, &dom);
          a *= om;
          cos_out[k] = c;
          dom_out[k] = dom * static_cast<T>(g.norm[k]);
        }
        a_out[k] = a;
        axpy(a, xw, yv, d);
      }
    }
  });
}

// Backward from the saved per-edge a_e, cos_e and inv.
template <typename T>
void backward_kernel(const T* x, const T* beta, const T* gy, int64_t d, const GraphPtrs& g, Attention att,
                     const T* a, const T* cos_e, const T* dom_e, const T* inv, T* gx, T* gbeta) {
  const bool scored = att != Attention::kOne;
  std::vector<T> gt;
  if (scored) gt.resize(static_cast<size_t>(g.nnz));
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_simd_kernels(d)) {
      const avx2::Csr c = csr_view(g);
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
          if (g.edge_user[k] == v) gbeta[v] -= g_t;
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
        const int64_t v = g.edge_row[k];
        if (!scored) {
          axpy(a[k], gy + v * d, gxw, d);
          continue;
        }
        const T g_t = gt[k];
        axpbz(a[k], gy + v * d, g_t * inv[v] * inv[w], x + v * d, gxw, d);
        self -= g_t * cos_e[k] * inv[w] * inv[w];
        if (g.edge_user[k] == w) gbeta[w] -= g_t;
      }
      if (scored) axpy(self, x + w * d, gxw, d);
    }
  });
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Forward outputs and the per-edge scalars saved for the backward (both devices).
struct ForwardBuffers {
  at::Tensor y;    // [n_own, d]
  at::Tensor a;    // [nnz] attention weights
  at::Tensor cos;  // [nnz] cosines (empty for kOne)
  at::Tensor dom;  // [nnz] ω'(t)/sqrt(d_v d_w) (empty for kOne)
  at::Tensor inv;  // [n_local] 1/‖x‖ (empty for kOne)
};

ForwardBuffers forward_buffers(const at::Tensor& x, int64_t n_own, int64_t n_local, int64_t nnz, bool scored) {
  return ForwardBuffers{at::empty({n_own, x.size(1)}, x.options()), at::empty({nnz}, x.options()),
                        at::empty({scored ? nnz : 0}, x.options()), at::empty({scored ? nnz : 0}, x.options()),
                        at::empty({scored ? n_local : 0}, x.options())};
}

class PropagateFunction : public torch::autograd::Function<PropagateFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor beta, at::Tensor indptr,
                            at::Tensor indices, at::Tensor edge_row, at::Tensor edge_user, at::Tensor norm,
                            at::Tensor csc_ptr, at::Tensor csc_edge, int64_t att, const LayerGraph* lg) {
    x = x.contiguous();
    beta = beta.contiguous();
    GraphPtrs g = ptrs(indptr, indices, edge_row, edge_user, norm, csc_ptr, csc_edge, lg);
    ForwardBuffers b = forward_buffers(x, g.n_own, g.n_local, g.nnz, static_cast<Attention>(att) != Attention::kOne);
    at::Tensor &y = b.y, &a = b.a, &cos = b.cos, &dom = b.dom, &inv = b.inv;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_forward", [&] {
      forward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g,
                               static_cast<Attention>(att), y.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(),
                               cos.data_ptr<scalar_t>(), dom.data_ptr<scalar_t>(), inv.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({x, beta, indptr, indices, edge_row, edge_user, norm, csc_ptr, csc_edge, a, cos, dom, inv});
    ctx->saved_data["att"] = att;
    ctx->saved_data["graph"] = reinterpret_cast<int64_t>(lg);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    profile::Scope ps("layer.backward");
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &beta = saved[1];
    auto* lg = reinterpret_cast<const LayerGraph*>(ctx->saved_data["graph"].toInt());
    GraphPtrs g = ptrs(saved[2], saved[3], saved[4], saved[5], saved[6], saved[7], saved[8], lg);
    const at::Tensor &a = saved[9], &cos = saved[10], &dom = saved[11], &inv = saved[12];
    Attention att = static_cast<Attention>(ctx->saved_data["att"].toInt());
    at::Tensor gy = grad_out[0].contiguous();
    at::Tensor gx = at::zeros_like(x);
    at::Tensor gbeta = at::zeros_like(beta);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_backward", [&] {
      backward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(),
                                x.size(1), g, att, a.data_ptr<scalar_t>(), cos.data_ptr<scalar_t>(),
                                dom.data_ptr<scalar_t>(), inv.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), gbeta.data_ptr<scalar_t>());
    });
    at::Tensor none;
    return {gx, gbeta, none, none, none, none, none, none, none, none, none};
  }
};

#ifdef TKG_HAVE_CUDA_KERNELS
// The same operator on CUDA tensors (kernels in propagate_cuda.cu); graph tensors on the device.
class PropagateCudaFunction : public torch::autograd::Function<PropagateCudaFunction> {
 public:
  static cuda::DeviceGraph device_graph(const LayerGraph& g) {
    return cuda::DeviceGraph{g.indptr.data_ptr<int64_t>(),    g.indices.data_ptr<int64_t>(), g.edge_row.data_ptr<int64_t>(),
                             g.edge_user.data_ptr<int64_t>(), g.norm.data_ptr<double>(),     g.csc_ptr.data_ptr<int64_t>(),
                             g.csc_edge.data_ptr<int64_t>(),  g.n_own,                       g.n_local,
                             g.indices.size(0)};
  }
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor beta, int64_t att, const LayerGraph* lg) {
    x = x.contiguous();
    beta = beta.contiguous();
    const cuda::DeviceGraph g = device_graph(*lg);
    ForwardBuffers b = forward_buffers(x, g.n_own, g.n_local, g.nnz, static_cast<Attention>(att) != Attention::kOne);
    at::Tensor &y = b.y, &a = b.a, &cos = b.cos, &dom = b.dom, &inv = b.inv;
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_cuda_forward", [&] {
      cuda::propagate_forward<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g,
                                        static_cast<int>(att), y.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(),
                                        cos.data_ptr<scalar_t>(), dom.data_ptr<scalar_t>(), inv.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({x, beta, a, cos, dom, inv});
    ctx->saved_data["att"] = att;
    ctx->saved_data["graph"] = reinterpret_cast<int64_t>(lg);
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &beta = saved[1], &a = saved[2], &cos = saved[3], &dom = saved[4], &inv = saved[5];
    const cuda::DeviceGraph g = device_graph(*reinterpret_cast<const LayerGraph*>(ctx->saved_data["graph"].toInt()));
    const int att = static_cast<int>(ctx->saved_data["att"].toInt());
    at::Tensor gy = grad_out[0].contiguous();                                      // [n_own, d]
    at::Tensor gx = at::zeros_like(x), gbeta = at::zeros_like(beta);               // [n_local, d], [n_local]
    at::Tensor gt = at::empty({static_cast<Attention>(att) != Attention::kOne ? g.nnz : 0}, x.options());  // [nnz]
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_cuda_backward", [&] {
      cuda::propagate_backward<scalar_t>(x.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), x.size(1), g, att,
                                         a.data_ptr<scalar_t>(), cos.data_ptr<scalar_t>(), dom.data_ptr<scalar_t>(),
                                         inv.data_ptr<scalar_t>(), gt.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(),
                                         gbeta.data_ptr<scalar_t>());
    });
    at::Tensor none;
    return {gx, gbeta, none, none};
  }
};
#endif

}  // namespace

KernelProgressScope::KernelProgressScope(const std::function<void()>* progress) : previous_(t_progress) {
  t_progress = progress;
}
KernelProgressScope::~KernelProgressScope() { t_progress = previous_; }

at::Tensor propagate_forward(const at::Tensor& x_in, const at::Tensor& beta_in, const LayerGraph& lg, Attention att,
                             PropagateSaved* saved) {
  TKG_CHECK(x_in.dim() == 2 && x_in.size(0) == lg.n_local, "x must be [n_local, d], got " << x_in.sizes());
  TKG_CHECK(beta_in.dim() == 1 && beta_in.size(0) == lg.n_local, "beta must be [n_local]");
  TKG_CHECK(beta_in.scalar_type() == x_in.scalar_type(), "x and beta dtypes differ");
  TKG_CHECK(att != Attention::kSoftmax, "softmax attention has no split kernels (its row normalisation spans all edges)");
  TKG_CHECK(fused_supported(x_in.device()), "the fused operator has no kernels for " << x_in.device() << " in this build");
  TKG_CHECK(lg.indptr.device() == x_in.device(), "graph tensors on " << lg.indptr.device() << ", x on " << x_in.device());
  const at::Tensor x = x_in.contiguous(), beta = beta_in.contiguous();  // [n_local, d], [n_local]
  const int64_t nnz = lg.indices.size(0);
  ForwardBuffers b = forward_buffers(x, lg.n_own, lg.n_local, nnz, att != Attention::kOne);
#ifdef TKG_HAVE_CUDA_KERNELS
  if (x.is_cuda()) {
    const cuda::DeviceGraph g = PropagateCudaFunction::device_graph(lg);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_cuda_forward", [&] {
      cuda::propagate_forward<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g,
                                        static_cast<int>(att), b.y.data_ptr<scalar_t>(), b.a.data_ptr<scalar_t>(),
                                        b.cos.data_ptr<scalar_t>(), b.dom.data_ptr<scalar_t>(), b.inv.data_ptr<scalar_t>());
    });
    *saved = PropagateSaved{x, beta, b.a, b.cos, b.dom, b.inv};
    return b.y;
  }
#endif
  const GraphPtrs g = ptrs(lg.indptr, lg.indices, lg.edge_row, lg.edge_user, lg.norm, lg.csc_ptr, lg.csc_edge, &lg);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_forward", [&] {
    forward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g, att,
                             b.y.data_ptr<scalar_t>(), b.a.data_ptr<scalar_t>(), b.cos.data_ptr<scalar_t>(),
                             b.dom.data_ptr<scalar_t>(), b.inv.data_ptr<scalar_t>());
  });
  *saved = PropagateSaved{x, beta, b.a, b.cos, b.dom, b.inv};
  return b.y;
}

void propagate_backward(const PropagateSaved& sv, const at::Tensor& gy_in, const LayerGraph& lg, Attention att,
                        at::Tensor* gx_out, at::Tensor* gbeta_out) {
  const at::Tensor &x = sv.x, &beta = sv.beta;
  const at::Tensor gy = gy_in.contiguous();                          // [n_own, d]
  at::Tensor gx = at::zeros_like(x), gbeta = at::zeros_like(beta);  // [n_local, d], [n_local]
#ifdef TKG_HAVE_CUDA_KERNELS
  if (x.is_cuda()) {
    const cuda::DeviceGraph g = PropagateCudaFunction::device_graph(lg);
    at::Tensor gt = at::empty({att != Attention::kOne ? g.nnz : 0}, x.options());  // [nnz]
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_cuda_backward", [&] {
      cuda::propagate_backward<scalar_t>(x.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), x.size(1), g,
                                         static_cast<int>(att), sv.a.data_ptr<scalar_t>(), sv.cos.data_ptr<scalar_t>(),
                                         sv.dom.data_ptr<scalar_t>(), sv.inv.data_ptr<scalar_t>(), gt.data_ptr<scalar_t>(),
                                         gx.data_ptr<scalar_t>(), gbeta.data_ptr<scalar_t>());
    });
    *gx_out = gx, *gbeta_out = gbeta;
    return;
  }
#endif
  const GraphPtrs g = ptrs(lg.indptr, lg.indices, lg.edge_row, lg.edge_user, lg.norm, lg.csc_ptr, lg.csc_edge, &lg);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_backward", [&] {
    backward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), x.size(1), g,
                              att, sv.a.data_ptr<scalar_t>(), sv.cos.data_ptr<scalar_t>(), sv.dom.data_ptr<scalar_t>(),
                              sv.inv.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), gbeta.data_ptr<scalar_t>());
  });
  *gx_out = gx, *gbeta_out = gbeta;
}

LayerGraph layer_graph_to(const LayerGraph& g, const at::Device& device) {
  LayerGraph out = g;
  for (at::Tensor* t : {&out.indptr, &out.indices, &out.edge_row, &out.edge_user, &out.norm, &out.csc_ptr, &out.csc_edge,
                        &out.rows})
    if (t->defined()) *t = t->to(device);
  return out;
}

void set_cpu_simd_kernels(bool on) { g_simd = on; }
bool cpu_simd_kernels(int64_t d) { return g_simd && avx2::supported(d); }

bool fused_supported(const at::Device& device) {
#ifdef TKG_HAVE_CUDA_KERNELS
  return device.is_cpu() || device.is_cuda();
#else
  return device.is_cpu();
#endif
}

at::Tensor propagate_fused(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att) {
  TKG_CHECK(x.dim() == 2 && x.size(0) == g.n_local, "x must be [n_local, d], got " << x.sizes());
  TKG_CHECK(beta.dim() == 1 && beta.size(0) == g.n_local, "beta must be [n_local]");
  TKG_CHECK(fused_supported(x.device()), "the fused operator has no kernels for " << x.device() << " in this build");
  TKG_CHECK(g.indptr.device() == x.device(), "graph tensors on " << g.indptr.device() << ", x on " << x.device());
#ifdef TKG_HAVE_CUDA_KERNELS
  if (x.is_cuda() && att != Attention::kSoftmax) {
    TKG_CHECK(beta.scalar_type() == x.scalar_type(), "x and beta dtypes differ");
    return PropagateCudaFunction::apply(x, beta, static_cast<int64_t>(att), &g);
  }
#endif
  TKG_CHECK(beta.scalar_type() == x.scalar_type(), "x and beta dtypes differ");
  if (att == Attention::kSoftmax) return propagate_reference(x, beta, g, att);
  return PropagateFunction::apply(x, beta, g.indptr, g.indices, g.edge_row, g.edge_user, g.norm, g.csc_ptr,
                                  g.csc_edge, static_cast<int64_t>(att), &g);
}

}  // namespace tkg
