#include "model/overlapped_layer.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <functional>
#include <memory>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fault_injection.hpp"
#include "common/phase_profile.hpp"
#include "shard/shard.hpp"

namespace tkg {

OverlapLayer make_overlap_layer(const Shard& shard, const at::Device& device, const ExchangePlan& plan, Communicator& comm,
                                Attention att, Recompute recompute) {
  TKG_CHECK(att != Attention::kSoftmax, "the overlapped layer has no softmax variant");
  OverlapLayer o;
  o.interior = layer_graph_to(build_layer_graph(shard, EdgeSet::kInterior), device);
  o.boundary = layer_graph_to(build_layer_graph(shard, EdgeSet::kBoundary), device);
  o.plan = &plan;
  o.comm = &comm;
  o.att = att;
  o.recompute = recompute;
  return o;
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// An all-to-all-v of rows [Σ send_rows, c] started now: the staged send buffer and the receive
// buffer live here until finish() (which waits and returns the received rows [n_recv, c] as
// float32 on `home`).
class RowsInFlight {
 public:
  RowsInFlight(const at::Tensor& send, const std::vector<int64_t>& send_rows, const std::vector<int64_t>& recv_rows,
               int64_t n_recv, Communicator& comm, Traffic traffic, bool bf16, const char* site_name)
      : home_(send.device()) {
    const int64_t c = send.size(1);
    send_ = send.to(comm_device(comm), bf16 ? at::kBFloat16 : at::kFloat).contiguous();  // [n_send, c]
    recv_ = at::empty({n_recv, c}, send_.options());                                      // [n_recv, c]
    TrafficScope scope(comm, traffic);
    CollectiveSite site(comm, site_name);
    pending_ = comm.start_all_to_all_v(send_.data_ptr(), element_counts(send_rows, c), recv_.data_ptr(), element_counts(recv_rows, c),
                                       bf16 ? DType::kUInt16 : DType::kFloat32);
    progress_ = [this] { pending_->test(); };
  }
  // For KernelProgressScope while compute runs.
  const std::function<void()>* progress() const { return &progress_; }
  at::Tensor finish() {
    pending_->wait();
    return recv_.to(home_, at::kFloat);
  }

 private:
  at::Device home_;
  at::Tensor send_, recv_;
  std::unique_ptr<PendingExchange> pending_;
  std::function<void()> progress_;
};

// The per-edge scalars of one edge set (its inputs are saved apart: see forward).
void save(std::vector<at::Tensor>& out, const PropagateSaved& s) { out.insert(out.end(), {s.a, s.cos, s.dom, s.inv}); }
PropagateSaved restore(const std::vector<at::Tensor>& v, size_t at, const at::Tensor& x, const at::Tensor& beta) {
  return PropagateSaved{x, beta, v[at], v[at + 1], v[at + 2], v[at + 3]};
}

class OverlappedHaloLayerFunction : public torch::autograd::Function<OverlappedHaloLayerFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, at::Tensor x_own, at::Tensor b_own, const OverlapLayer* L,
                               bool bf16, bool saved_bf16) {
    const ExchangePlan& plan = *L->plan;
    TKG_CHECK(x_own.dim() == 2 && x_own.size(0) == plan.n_own && x_own.scalar_type() == at::kFloat,
              "x_own must be [n_own, w] float32");
    TKG_CHECK(b_own.dim() == 1 && b_own.size(0) == plan.n_own, "b_own must be [n_own]");
    const int64_t w = x_own.size(1), n_own = plan.n_own;
    x_own = x_own.contiguous();
    b_own = b_own.contiguous();
    // [n_send, w+1]: the send rows of x with their β, as one message.
    at::Tensor send = at::cat({x_own.index_select(0, plan.send_index), b_own.index_select(0, plan.send_index).unsqueeze(1)}, 1);
    fault_point("forward", L->comm->rank());  // TKG_FAULT_INJECT (failure tests)
    RowsInFlight flight(send, plan.send_rows, plan.recv_rows, plan.n_recv, *L->comm, plan.traffic, bf16,
                        "overlapped_layer.forward");
    PropagateSaved s_int, s_bnd;
    at::Tensor y;  // [n_own, w]
    {
      profile::Scope ps("layer.forward.interior");
      KernelProgressScope progress(flight.progress());
      y = propagate_forward(x_own, b_own, L->interior, L->att, &s_int);
    }
    at::Tensor halo = flight.finish();  // [n_halo, w+1]
    at::Tensor halo_x = halo.narrow(1, 0, w).contiguous();  // [n_halo, w]
    const bool boundary = L->boundary.indices.size(0) > 0;
    if (boundary) {
      profile::Scope ps("layer.forward.boundary");
      // The boundary graph's own columns: its n_b rows (owned rows with a halo neighbour), then the halo.
      const at::Tensor& rows = L->boundary.owned_rows;                                      // [n_b] int64
      at::Tensor xin = at::cat({x_own.index_select(0, rows), halo_x}, 0);             // [n_b + n_halo, w]
      at::Tensor bin = at::cat({b_own.index_select(0, rows), halo.select(1, w)}, 0);  // [n_b + n_halo]
      y.index_add_(0, rows, propagate_forward(xin, bin, L->boundary, L->att, &s_bnd));
    }
    // Kept for the backward: the inputs (x_own is the caller's tensor; the boundary's inputs are
    // rebuilt from it and the received halo rather than kept as a copy), and per edge what
    // L->recompute keeps.
    drop_saved(&s_int, L->recompute);
    drop_saved(&s_bnd, L->recompute);
    // Recompute all: the halo rows are not kept either; the backward receives them again.
    const bool keep_halo = L->recompute != Recompute::kAll;
    std::vector<at::Tensor> keep{saved_bf16 ? x_own.to(at::kBFloat16) : x_own, b_own,
                                 !keep_halo ? at::Tensor() : saved_bf16 ? halo.to(at::kBFloat16) : halo};
    save(keep, s_int);
    if (boundary) save(keep, s_bnd);
    ctx->save_for_backward(keep);
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(L);
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["boundary"] = boundary;
    ctx->saved_data["width"] = w;
    ctx->saved_data["n_own"] = n_own;
    return {y, halo_x};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto* L = reinterpret_cast<const OverlapLayer*>(ctx->saved_data["layer"].toInt());
    const ExchangePlan& plan = *L->plan;
    const bool bf16 = ctx->saved_data["bf16"].toBool(), boundary = ctx->saved_data["boundary"].toBool();
    const int64_t w = ctx->saved_data["width"].toInt(), n_own = ctx->saved_data["n_own"].toInt();
    const std::vector<at::Tensor> saved = ctx->get_saved_variables();
    // [n_own, w], [n_own], [n_halo, w+1] (float32 again if kept as bfloat16)
    const at::Tensor x_own = saved[0].to(at::kFloat), &b_own = saved[1];
    at::Tensor halo = saved[2].defined() ? saved[2].to(at::kFloat) : at::Tensor();
    PropagateSaved s_int = restore(saved, 3, x_own, b_own);
    if (!halo.defined()) {
      // Not kept (recompute all): the forward's exchange again, on every rank (the mode is every
      // rank's), the same rows and so the same values.
      at::Tensor send = at::cat({x_own.index_select(0, plan.send_index), b_own.index_select(0, plan.send_index).unsqueeze(1)}, 1);
      RowsInFlight again(send, plan.send_rows, plan.recv_rows, plan.n_recv, *L->comm, plan.traffic, bf16,
                         "overlapped_layer.backward_halo");
      halo = again.finish();  // [n_halo, w+1]
    }
    auto opts = s_int.x.options();
    at::Tensor gy = grad[0].defined() ? grad[0] : at::zeros({n_own, w}, opts);  // [n_own, w]
    // The halo rows' gradients first: [n_halo, w+1] (x columns, then β).
    at::Tensor g_bnd_x, g_bnd_b;  // [n_b + n_halo, w], [n_b + n_halo]
    at::Tensor g_halo = at::zeros({plan.n_recv, w + 1}, opts);
    const at::Tensor& rows = L->boundary.owned_rows;  // [n_b] int64
    const int64_t n_b = L->boundary.n_own;
    // The boundary's inputs and scalars live in this block only; the interior's are restored after
    // it, so the two edge sets' scalars are never held at once.
    if (boundary) {
      profile::Scope ps("layer.backward.boundary");
      at::Tensor xin = at::cat({x_own.index_select(0, rows), halo.narrow(1, 0, w)}, 0);  // [n_b + n_halo, w]
      at::Tensor bin = at::cat({b_own.index_select(0, rows), halo.select(1, w)}, 0);     // [n_b + n_halo]
      PropagateSaved s_bnd = restore(saved, 7, xin, bin);
      restore_saved(&s_bnd, L->boundary, L->att);
      propagate_backward(s_bnd, gy.index_select(0, rows), L->boundary, L->att, &g_bnd_x, &g_bnd_b);
      g_halo.narrow(1, 0, w).copy_(g_bnd_x.narrow(0, n_b, plan.n_recv));
      g_halo.select(1, w).copy_(g_bnd_b.narrow(0, n_b, plan.n_recv));
      // Only the owned rows' part is needed from here on: keep it, not the halo part's bytes.
      g_bnd_x = g_bnd_x.narrow(0, 0, n_b).clone(), g_bnd_b = g_bnd_b.narrow(0, 0, n_b).clone();
    }
    if (grad[1].defined()) g_halo.narrow(1, 0, w).add_(grad[1]);
    fault_point("backward", L->comm->rank());  // TKG_FAULT_INJECT (failure tests)
    const int64_t n_send = plan.send_index.size(0);
    RowsInFlight flight(g_halo, plan.recv_rows, plan.send_rows, n_send, *L->comm, plan.traffic, bf16,
                        "overlapped_layer.backward");
    halo = at::Tensor();
    at::Tensor gx, gb;  // [n_own, w], [n_own]
    {
      profile::Scope ps("layer.backward.interior");
      restore_saved(&s_int, L->interior, L->att);
      KernelProgressScope progress(flight.progress());
      propagate_backward(s_int, gy, L->interior, L->att, &gx, &gb);
    }
    at::Tensor back = flight.finish();  // [n_send, w+1]
    if (boundary) {
      gx.index_add_(0, rows, g_bnd_x);
      gb.index_add_(0, rows, g_bnd_b);
    }
    if (n_send > 0) {
      gx.index_add_(0, plan.send_index, back.narrow(1, 0, w));
      gb.index_add_(0, plan.send_index, back.select(1, w));
    }
    return {gx, gb, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> overlapped_halo_layer(const at::Tensor& x_own, const at::Tensor& b_own,
                                                        const OverlapLayer& layer, bool bf16, bool saved_bf16) {
  variable_list out = OverlappedHaloLayerFunction::apply(x_own, b_own, &layer, bf16, saved_bf16);
  return {out[0], out[1]};
}

}  // namespace tkg
