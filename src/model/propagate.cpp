#include "model/propagate.hpp"

#ifdef TKG_HAVE_CUDA_KERNELS
#include "model/propagate_cuda.hpp"
#endif

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "common/error.hpp"
#include "common/phase_profile.hpp"
#include "model/propagate_cpu.hpp"

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


namespace {

using propagate_cpu::GraphPtrs;
using propagate_cpu::backward_kernel;
using propagate_cpu::forward_kernel;
using propagate_cpu::ptrs;
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
    return cuda::DeviceGraph{g.indptr.data_ptr<int64_t>(),    g.indices.data_ptr<int32_t>(), g.edge_row.data_ptr<int32_t>(),
                             g.edge_user.data_ptr<int32_t>(), g.norm.data_ptr<float>(),      g.csc_ptr.data_ptr<int64_t>(),
                             g.csc_edge.data_ptr<int32_t>(),  g.n_own,                       g.n_local,
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

KernelProgressScope::KernelProgressScope(const std::function<void()>* progress)
    : previous_(propagate_cpu::set_kernel_progress(progress)) {}
KernelProgressScope::~KernelProgressScope() { propagate_cpu::set_kernel_progress(previous_); }

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

void set_cpu_simd_kernels(bool on) { propagate_cpu::set_simd(on); }
bool cpu_simd_kernels(int64_t d) { return propagate_cpu::simd(d); }

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
