#include "model/propagate.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

#include "common/error.hpp"
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

LayerGraph build_layer_graph(const Shard& s) {
  LayerGraph g;
  g.n_own = s.n_own();
  g.n_local = s.n_local();
  const int64_t nnz = s.nnz();
  auto i64 = at::TensorOptions().dtype(at::kLong);
  g.indptr = at::from_blob(const_cast<int64_t*>(s.indptr.data()), {g.n_own + 1}, i64).clone();
  g.indices = at::from_blob(const_cast<int64_t*>(s.indices.data()), {nnz}, i64).clone();
  g.edge_row = at::empty({nnz}, i64);
  g.edge_user = at::empty({nnz}, i64);
  g.norm = at::empty({nnz}, at::TensorOptions().dtype(at::kDouble));
  int64_t* row = g.edge_row.data_ptr<int64_t>();
  int64_t* user = g.edge_user.data_ptr<int64_t>();
  double* norm = g.norm.data_ptr<double>();
  for (int64_t v = 0; v < g.n_own; ++v) {
    for (int64_t k = s.indptr[v]; k < s.indptr[v + 1]; ++k) {
      int64_t w = s.indices[k];
      row[k] = v;
      user[k] = v < s.n_own_users ? v : w;
      norm[k] = 1.0 / std::sqrt(static_cast<double>(s.degree[v]) * static_cast<double>(s.degree[w]));
    }
  }
  // Column-grouped edge ids (counting sort by column).
  g.csc_ptr = at::zeros({g.n_local + 1}, i64);
  g.csc_edge = at::empty({nnz}, i64);
  int64_t* cp = g.csc_ptr.data_ptr<int64_t>();
  int64_t* ce = g.csc_edge.data_ptr<int64_t>();
  for (int64_t k = 0; k < nnz; ++k) ++cp[s.indices[k] + 1];
  for (int64_t w = 0; w < g.n_local; ++w) cp[w + 1] += cp[w];
  std::vector<int64_t> fill(cp, cp + g.n_local);
  for (int64_t k = 0; k < nnz; ++k) ce[fill[s.indices[k]]++] = k;
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

constexpr int64_t kGrain = 64;  // rows per parallel task

template <typename T>
inline T dot(const T* a, const T* b, int64_t d) {
  T s = 0;
  for (int64_t t = 0; t < d; ++t) s += a[t] * b[t];
  return s;
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
};

GraphPtrs ptrs(const at::Tensor& indptr, const at::Tensor& indices, const at::Tensor& edge_row,
               const at::Tensor& edge_user, const at::Tensor& norm, const at::Tensor& csc_ptr,
               const at::Tensor& csc_edge) {
  return GraphPtrs{indptr.data_ptr<int64_t>(),   indices.data_ptr<int64_t>(), edge_row.data_ptr<int64_t>(),
                   edge_user.data_ptr<int64_t>(), csc_ptr.data_ptr<int64_t>(), csc_edge.data_ptr<int64_t>(),
                   norm.data_ptr<double>(),       indptr.size(0) - 1,          csc_ptr.size(0) - 1,
                   indices.size(0)};
}

// inv[w] = 1 / max(‖x_w‖, 1e-12)   ->  [n_local]
template <typename T>
std::vector<T> inverse_norms(const T* x, int64_t n, int64_t d) {
  std::vector<T> inv(static_cast<size_t>(n));
  at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) inv[w] = T(1) / std::max<T>(std::sqrt(dot(x + w * d, x + w * d, d)), T(1e-12));
  });
  return inv;
}

template <typename T>
void forward_kernel(const T* x, const T* beta, int64_t d, const GraphPtrs& g, Attention att, T* y) {
  std::vector<T> inv;
  if (att != Attention::kOne) inv = inverse_norms(x, g.n_local, d);
  at::parallel_for(0, g.n_own, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      T* yv = y + v * d;
      const T* xv = x + v * d;
      std::fill(yv, yv + d, T(0));
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
        const int64_t w = g.indices[k];
        const T* xw = x + w * d;
        T a = static_cast<T>(g.norm[k]);
        if (att != Attention::kOne) {
          T cos = dot(xv, xw, d) * inv[v] * inv[w];
          T om, dom;
          omega(att, cos - beta[g.edge_user[k]], &om, &dom);
          a *= om;
        }
        for (int64_t t = 0; t < d; ++t) yv[t] += a * xw[t];
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* x, const T* beta, const T* gy, int64_t d, const GraphPtrs& g, Attention att, T* gx,
                     T* gbeta) {
  const bool scored = att != Attention::kOne;
  std::vector<T> inv;
  if (scored) inv = inverse_norms(x, g.n_local, d);
  std::vector<T> a(static_cast<size_t>(g.nnz)), cos_e, gt;
  if (scored) cos_e.resize(static_cast<size_t>(g.nnz)), gt.resize(static_cast<size_t>(g.nnz));
  // Pass 1, by row v: per-edge scalars, and the parts of the gradient that land on row v.
  at::parallel_for(0, g.n_own, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t v = b; v < e; ++v) {
      const T* xv = x + v * d;
      const T* gyv = gy + v * d;
      T* gxv = gx + v * d;
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k) {
        const int64_t w = g.indices[k];
        const T* xw = x + w * d;
        const T nrm = static_cast<T>(g.norm[k]);
        if (!scored) {
          a[k] = nrm;
          continue;
        }
        const T c = dot(xv, xw, d) * inv[v] * inv[w];
        T om, dom;
        omega(att, c - beta[g.edge_user[k]], &om, &dom);
        a[k] = om * nrm;
        cos_e[k] = c;
        const T g_t = dot(gyv, xw, d) * nrm * dom;  // dL/dt for this edge
        gt[k] = g_t;
        // d cos / d x_v = (x̂_w − cos x̂_v) / ‖x_v‖
        const T sw = g_t * inv[w] * inv[v], sv = g_t * c * inv[v] * inv[v];
        for (int64_t t = 0; t < d; ++t) gxv[t] += sw * xw[t] - sv * xv[t];
        if (g.edge_user[k] == v) gbeta[v] -= g_t;
      }
    }
  });
  // Pass 2, by column w: message gradient a·gy_v and d cos / d x_w.
  at::parallel_for(0, g.n_local, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t w = b; w < e; ++w) {
      T* gxw = gx + w * d;
      const T* xw = x + w * d;
      for (int64_t j = g.csc_ptr[w]; j < g.csc_ptr[w + 1]; ++j) {
        const int64_t k = g.csc_edge[j];
        const int64_t v = g.edge_row[k];
        const T* gyv = gy + v * d;
        const T ak = a[k];
        for (int64_t t = 0; t < d; ++t) gxw[t] += ak * gyv[t];
        if (!scored) continue;
        const T* xv = x + v * d;
        const T g_t = gt[k];
        const T sv = g_t * inv[v] * inv[w], sw = g_t * cos_e[k] * inv[w] * inv[w];
        for (int64_t t = 0; t < d; ++t) gxw[t] += sv * xv[t] - sw * xw[t];
        if (g.edge_user[k] == w && w != v) gbeta[w] -= g_t;
      }
    }
  });
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class PropagateFunction : public torch::autograd::Function<PropagateFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor beta, at::Tensor indptr,
                            at::Tensor indices, at::Tensor edge_row, at::Tensor edge_user, at::Tensor norm,
                            at::Tensor csc_ptr, at::Tensor csc_edge, int64_t att) {
    x = x.contiguous();
    beta = beta.contiguous();
    ctx->save_for_backward({x, beta, indptr, indices, edge_row, edge_user, norm, csc_ptr, csc_edge});
    ctx->saved_data["att"] = att;
    GraphPtrs g = ptrs(indptr, indices, edge_row, edge_user, norm, csc_ptr, csc_edge);
    at::Tensor y = at::empty({g.n_own, x.size(1)}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_forward", [&] {
      forward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g,
                               static_cast<Attention>(att), y.data_ptr<scalar_t>());
    });
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &beta = saved[1];
    GraphPtrs g = ptrs(saved[2], saved[3], saved[4], saved[5], saved[6], saved[7], saved[8]);
    Attention att = static_cast<Attention>(ctx->saved_data["att"].toInt());
    at::Tensor gy = grad_out[0].contiguous();
    at::Tensor gx = at::zeros_like(x);
    at::Tensor gbeta = at::zeros_like(beta);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_backward", [&] {
      backward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(),
                                x.size(1), g, att, gx.data_ptr<scalar_t>(), gbeta.data_ptr<scalar_t>());
    });
    at::Tensor none;
    return {gx, gbeta, none, none, none, none, none, none, none, none};
  }
};

}  // namespace

at::Tensor propagate_fused(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att) {
  TKG_CHECK(x.dim() == 2 && x.size(0) == g.n_local, "x must be [n_local, d], got " << x.sizes());
  TKG_CHECK(beta.dim() == 1 && beta.size(0) == g.n_local, "beta must be [n_local]");
  TKG_CHECK(x.device().is_cpu(), "the fused operator runs on CPU tensors");
  TKG_CHECK(beta.scalar_type() == x.scalar_type(), "x and beta dtypes differ");
  if (att == Attention::kSoftmax) return propagate_reference(x, beta, g, att);
  return PropagateFunction::apply(x, beta, g.indptr, g.indices, g.edge_row, g.edge_user, g.norm, g.csc_ptr,
                                  g.csc_edge, static_cast<int64_t>(att));
}

}  // namespace tkg
