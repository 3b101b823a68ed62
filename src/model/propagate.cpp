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

Recompute parse_recompute(const std::string& name) {
  if (name == "none") return Recompute::kNone;
  if (name == "weights") return Recompute::kWeights;
  if (name == "all") return Recompute::kAll;
  throw InputError("model.recompute", 0, "unknown mode '" + name + "' (expected auto, none, weights or all)");
}

const char* recompute_name(Recompute r) {
  switch (r) {
    case Recompute::kNone: return "none";
    case Recompute::kWeights: return "weights";
    case Recompute::kAll: return "all";
  }
  return "?";
}

int64_t saved_bytes_per_edge(Recompute r, Attention att, int64_t s) {
  const bool scored = att != Attention::kOne;
  switch (r) {
    case Recompute::kNone: return s * (scored ? 3 : 1);
    case Recompute::kWeights: return scored ? s : 0;
    case Recompute::kAll: return 0;
  }
  return 0;
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

ForwardBuffers forward_buffers(const at::Tensor& x, int64_t n_own, int64_t n_local, int64_t nnz, bool scored,
                               bool with_y = true) {
  return ForwardBuffers{at::empty({with_y ? n_own : 0, x.size(1)}, x.options()), at::empty({nnz}, x.options()),
                        at::empty({scored ? nnz : 0}, x.options()), at::empty({scored ? nnz : 0}, x.options()),
                        at::empty({scored ? n_local : 0}, x.options())};
}

// The forward kernels (CPU or CUDA) into fresh buffers: y and the per-edge scalars (on the CPU,
// with_y = false: the scalars only).
ForwardBuffers run_forward(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& lg, Attention att,
                           bool with_y = true);

// Saved tensors of one layer, in a fixed order (undefined ones stay undefined).
std::vector<at::Tensor> to_list(const PropagateSaved& s) { return {s.x, s.beta, s.a, s.cos, s.dom, s.inv}; }
PropagateSaved from_list(const std::vector<at::Tensor>& v) { return PropagateSaved{v[0], v[1], v[2], v[3], v[4], v[5]}; }

class PropagateFunction : public torch::autograd::Function<PropagateFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor x, at::Tensor beta, int64_t att, int64_t recompute,
                            bool saved_bf16, const LayerGraph* lg) {
    PropagateSaved saved;
    at::Tensor y = propagate_forward(x, beta, *lg, static_cast<Attention>(att), &saved);
    drop_saved(&saved, static_cast<Recompute>(recompute));
    if (saved_bf16) saved.x = saved.x.to(at::kBFloat16);  // restored to float32 in the backward
    ctx->save_for_backward(to_list(saved));
    ctx->saved_data["att"] = att;
    ctx->saved_data["graph"] = reinterpret_cast<int64_t>(lg);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    profile::Scope ps("layer.backward");
    PropagateSaved saved = from_list(ctx->get_saved_variables());
    if (saved.x.scalar_type() == at::kBFloat16) saved.x = saved.x.to(at::kFloat);
    const auto* lg = reinterpret_cast<const LayerGraph*>(ctx->saved_data["graph"].toInt());
    const Attention att = static_cast<Attention>(ctx->saved_data["att"].toInt());
    restore_saved(&saved, *lg, att);
    at::Tensor gx, gbeta;
    propagate_backward(saved, grad_out[0], *lg, att, &gx, &gbeta);
    at::Tensor none;
    return {gx, gbeta, none, none, none, none};
  }
};

#ifdef TKG_HAVE_CUDA_KERNELS
cuda::DeviceGraph device_graph(const LayerGraph& g) {
  return cuda::DeviceGraph{g.indptr.data_ptr<int64_t>(),    g.indices.data_ptr<int32_t>(), g.edge_row.data_ptr<int32_t>(),
                           g.edge_user.data_ptr<int32_t>(), g.norm.data_ptr<float>(),      g.csc_ptr.data_ptr<int64_t>(),
                           g.csc_edge.data_ptr<int32_t>(),  g.n_own,                       g.n_local,
                           g.indices.size(0)};
}
#endif

ForwardBuffers run_forward(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& lg, Attention att,
                           bool with_y) {
  const int64_t nnz = lg.indices.size(0);
  ForwardBuffers b = forward_buffers(x, lg.n_own, lg.n_local, nnz, att != Attention::kOne, with_y || x.is_cuda());
#ifdef TKG_HAVE_CUDA_KERNELS
  if (x.is_cuda()) {
    const cuda::DeviceGraph g = device_graph(lg);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_cuda_forward", [&] {
      cuda::propagate_forward<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g,
                                        static_cast<int>(att), b.y.data_ptr<scalar_t>(), b.a.data_ptr<scalar_t>(),
                                        b.cos.data_ptr<scalar_t>(), b.dom.data_ptr<scalar_t>(), b.inv.data_ptr<scalar_t>());
    });
    return b;
  }
#endif
  const GraphPtrs g = ptrs(lg);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_forward", [&] {
    forward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), x.size(1), g, att,
                             with_y ? b.y.data_ptr<scalar_t>() : nullptr, b.a.data_ptr<scalar_t>(), b.cos.data_ptr<scalar_t>(),
                             b.dom.data_ptr<scalar_t>(), b.inv.data_ptr<scalar_t>());
  });
  return b;
}

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
  ForwardBuffers b = run_forward(x, beta, lg, att);
  *saved = PropagateSaved{x, beta, b.a, b.cos, b.dom, b.inv};
  return b.y;
}

void drop_saved(PropagateSaved* s, Recompute r) {
  if (r == Recompute::kNone) return;
  s->a = at::Tensor(), s->dom = at::Tensor();
  if (r == Recompute::kAll) s->cos = at::Tensor(), s->inv = at::Tensor();
}

void restore_saved(PropagateSaved* s, const LayerGraph& lg, Attention att) {
  if (s->a.defined()) return;
  profile::Scope ps("layer.backward.recompute");
  if (s->x.is_cpu() && s->cos.defined() && s->inv.defined()) {
    // a and dω from the kept cosines (no dot products).
    const int64_t nnz = lg.indices.size(0);
    s->a = at::empty({nnz}, s->x.options());
    s->dom = at::empty({att != Attention::kOne ? nnz : 0}, s->x.options());
    const GraphPtrs g = ptrs(lg);
    AT_DISPATCH_FLOATING_TYPES(s->x.scalar_type(), "tkg_weights_from_cos", [&] {
      propagate_cpu::weights_from_cos_kernel<scalar_t>(s->beta.data_ptr<scalar_t>(), g, att, s->cos.data_ptr<scalar_t>(),
                                        s->a.data_ptr<scalar_t>(), s->dom.data_ptr<scalar_t>());
    });
    return;
  }
  // Nothing per edge kept (or a CUDA tensor, which has no weights-only kernel): the forward
  // kernel again, its output dropped.
  ForwardBuffers b = run_forward(s->x, s->beta, lg, att, /*with_y=*/false);
  s->a = b.a, s->cos = b.cos, s->dom = b.dom, s->inv = b.inv;
}

void propagate_backward(const PropagateSaved& sv, const at::Tensor& gy_in, const LayerGraph& lg, Attention att,
                        at::Tensor* gx_out, at::Tensor* gbeta_out) {
  const at::Tensor &x = sv.x, &beta = sv.beta;
  const at::Tensor gy = gy_in.contiguous();                          // [n_own, d]
  at::Tensor gx = at::zeros_like(x), gbeta = at::zeros_like(beta);  // [n_local, d], [n_local]
#ifdef TKG_HAVE_CUDA_KERNELS
  if (x.is_cuda()) {
    const cuda::DeviceGraph g = device_graph(lg);
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
  const GraphPtrs g = ptrs(lg);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "tkg_propagate_backward", [&] {
    // dL/dt per edge overwrites dω (read edge by edge just before): the backward runs once.
    scalar_t* dom = sv.dom.numel() ? sv.dom.data_ptr<scalar_t>() : nullptr;
    backward_kernel<scalar_t>(x.data_ptr<scalar_t>(), beta.data_ptr<scalar_t>(), gy.data_ptr<scalar_t>(), x.size(1), g,
                              att, sv.a.data_ptr<scalar_t>(), sv.cos.data_ptr<scalar_t>(), dom,
                              sv.inv.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), gbeta.data_ptr<scalar_t>(), dom);
  });
  *gx_out = gx, *gbeta_out = gbeta;
}

void set_cpu_simd_kernels(bool on) { propagate_cpu::set_simd(on); }
bool cpu_simd_kernels(int64_t d) { return propagate_cpu::simd(d); }
void set_cpu_skip_zero_rows(bool on) { propagate_cpu::set_skip_zero_rows(on); }

bool fused_supported(const at::Device& device) {
#ifdef TKG_HAVE_CUDA_KERNELS
  return device.is_cpu() || device.is_cuda();
#else
  return device.is_cpu();
#endif
}

at::Tensor propagate_fused(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att,
                           Recompute recompute, bool saved_bf16) {
  TKG_CHECK(x.dim() == 2 && x.size(0) == g.n_local, "x must be [n_local, d], got " << x.sizes());
  TKG_CHECK(beta.dim() == 1 && beta.size(0) == g.n_local, "beta must be [n_local]");
  TKG_CHECK(fused_supported(x.device()), "the fused operator has no kernels for " << x.device() << " in this build");
  TKG_CHECK(g.indptr.device() == x.device(), "graph tensors on " << g.indptr.device() << ", x on " << x.device());
  TKG_CHECK(beta.scalar_type() == x.scalar_type(), "x and beta dtypes differ");
  if (att == Attention::kSoftmax) return propagate_reference(x, beta, g, att);
  TKG_CHECK(!saved_bf16 || x.scalar_type() == at::kFloat, "saved_bf16 takes float32 x");
  return PropagateFunction::apply(x, beta, static_cast<int64_t>(att), static_cast<int64_t>(recompute), saved_bf16, &g);
}

}  // namespace tkg
