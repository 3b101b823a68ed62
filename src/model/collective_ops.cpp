#include "model/collective_ops.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fault_injection.hpp"
#include "shard/shard.hpp"

namespace tkg {

std::vector<int64_t> element_counts(const std::vector<int64_t>& rows, int64_t width) {
  std::vector<int64_t> out(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) out[k] = rows[k] * width;
  return out;
}

ExchangePlan build_halo_plan(const Shard& s) {
  ExchangePlan p;
  p.n_own = s.n_own();
  p.n_recv = s.n_halo();
  p.send_index = at::from_blob(const_cast<int64_t*>(s.send_list.data()), {static_cast<int64_t>(s.send_list.size())},
                               at::TensorOptions().dtype(at::kLong))
                     .clone();
  TKG_CHECK(static_cast<int32_t>(s.send_offsets.size()) == s.parts + 1 && static_cast<int32_t>(s.halo_offsets.size()) == s.parts + 1,
            "halo plan: shard offsets need " << s.parts + 1 << " entries");
  TKG_CHECK(s.send_offsets.back() == static_cast<int64_t>(s.send_list.size()) && s.halo_offsets.back() == s.n_halo(),
            "halo plan: the send offsets end at " << s.send_offsets.back() << " for " << s.send_list.size()
            << " send rows, the halo offsets at " << s.halo_offsets.back() << " for " << s.n_halo() << " halo rows");
  for (int32_t r = 0; r < s.parts; ++r) {
    p.send_rows.push_back(s.send_offsets[r + 1] - s.send_offsets[r]);
    p.recv_rows.push_back(s.halo_offsets[r + 1] - s.halo_offsets[r]);
  }
  validate_plan(p, s.parts, s.rank);
  return p;
}

void validate_plan(const ExchangePlan& p, int P, int me) {
  const std::string& n = p.name;
  TKG_CHECK(static_cast<int>(p.send_rows.size()) == P && static_cast<int>(p.recv_rows.size()) == P,
            "plan '" << n << "': " << p.send_rows.size() << " send and " << p.recv_rows.size() << " receive counts for " << P << " ranks");
  int64_t ts = 0, tr = 0;
  for (int r = 0; r < P; ++r) {
    TKG_CHECK(p.send_rows[r] >= 0 && p.recv_rows[r] >= 0, "plan '" << n << "': negative count for rank " << r);
    ts += p.send_rows[r], tr += p.recv_rows[r];
  }
  TKG_CHECK(me < 0 || me >= P || (p.send_rows[me] == 0 && p.recv_rows[me] == 0),
            "plan '" << n << "': rank " << me << " sends " << p.send_rows[me] << " rows to itself");
  TKG_CHECK(tr == p.n_recv, "plan '" << n << "': receives " << tr << " rows but its receive block has " << p.n_recv);
  const int64_t n_send = p.send_index.defined() ? p.send_index.numel() : 0;
  TKG_CHECK(ts == n_send, "plan '" << n << "': sends " << ts << " rows but its send index has " << n_send);
  TKG_CHECK(!p.packed || n_send == p.n_own, "plan '" << n << "': packed, but " << n_send << " send rows for " << p.n_own << " input rows");
  if (n_send > 0) {
    const at::Tensor ix = p.send_index.to(at::kCPU);
    const int64_t lo = ix.min().item<int64_t>(), hi = ix.max().item<int64_t>();
    TKG_CHECK(lo >= 0 && hi < p.n_own, "plan '" << n << "': send index within [" << lo << ", " << hi << "] for " << p.n_own << " rows");
  }
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

DType comm_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return DType::kFloat32;
    case at::kDouble: return DType::kFloat64;
    case at::kLong: return DType::kInt64;
    case at::kByte: return DType::kUInt8;
    case at::kBFloat16:
    case at::kHalf: return DType::kUInt16;  // moved as raw 16-bit words, no arithmetic
    default: break;
  }
  TKG_CHECK(false, "no wire type for tensors of " << t);
  return DType::kUInt8;
}

// All-to-all-v of float32 rows [Σ send_rows, w] -> [n_recv, w], optionally as bfloat16 on the wire.
at::Tensor move_rows(const at::Tensor& send, const std::vector<int64_t>& send_rows, const std::vector<int64_t>& recv_rows,
                     int64_t n_recv, Communicator& comm, bool bf16) {
  if (!bf16) return exchange_rows(send, send_rows, recv_rows, n_recv, comm);
  return exchange_rows(send.to(at::kBFloat16), send_rows, recv_rows, n_recv, comm).to(at::kFloat);
}

class HaloExchangeFunction : public torch::autograd::Function<HaloExchangeFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor owned, const ExchangePlan* plan, Communicator* comm,
                            bool bf16) {
    TKG_CHECK(owned.dim() == 2 && owned.size(0) == plan->n_own, "owned must be [n_own, w]");
    TKG_CHECK(owned.scalar_type() == at::kFloat, "halo exchange moves float32 rows");
    ctx->saved_data["plan"] = reinterpret_cast<int64_t>(plan);
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["width"] = owned.size(1);
    at::Tensor send = plan->packed ? owned.contiguous() : owned.index_select(0, plan->send_index).contiguous();  // [n_send, w]
    fault_point("forward", comm->rank());  // TKG_FAULT_INJECT (failure tests)
    TrafficScope scope(*comm, plan->traffic);
    CollectiveSite site(*comm, "halo_exchange(" + plan->name + ").forward");
    return move_rows(send, plan->send_rows, plan->recv_rows, plan->n_recv, *comm, bf16);  // [n_halo, w]
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto* plan = reinterpret_cast<const ExchangePlan*>(ctx->saved_data["plan"].toInt());
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const int64_t w = ctx->saved_data["width"].toInt();
    // An undefined gradient still takes part in the reverse exchange (as zeros): every rank calls.
    at::Tensor g = grad[0].defined() ? grad[0].contiguous()
                                     : at::zeros({plan->n_recv, w}, plan->send_index.options().dtype(at::kFloat));  // [n_halo, w]
    fault_point("backward", comm->rank());  // TKG_FAULT_INJECT (failure tests)
    TrafficScope scope(*comm, plan->traffic);
    CollectiveSite site(*comm, "halo_exchange(" + plan->name + ").backward");
    at::Tensor back = move_rows(g, plan->recv_rows, plan->send_rows, plan->send_index.size(0), *comm, bf16);  // [n_send, w]
    // Nothing sent: no gradient for the owned rows (undefined = zeros to autograd, no [n_own, w] fill).
    if (plan->send_index.size(0) == 0) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    if (plan->packed) return {back, at::Tensor(), at::Tensor(), at::Tensor()};  // rows in send order already
    at::Tensor g_owned = at::zeros({plan->n_own, w}, g.options()).index_add_(0, plan->send_index, back);
    return {g_owned, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Device comm_device(const Communicator& comm) {
  return comm.device() < 0 ? at::Device(at::kCPU) : at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(comm.device()));
}

at::Tensor exchange_rows(const at::Tensor& send, const std::vector<int64_t>& send_rows,
                         const std::vector<int64_t>& recv_rows, int64_t n_recv, Communicator& comm) {
  TKG_CHECK(send.dim() == 2, "exchange_rows moves rows of a 2-d tensor");
  const int64_t w = send.size(1);
  at::Tensor s = send.to(comm_device(comm)).contiguous();  // staged (a no-op when already there)
  at::Tensor r = at::empty({n_recv, w}, s.options());      // [n_recv, w]
  comm.all_to_all_v(s.data_ptr(), element_counts(send_rows, w), r.data_ptr(), element_counts(recv_rows, w), comm_dtype(s.scalar_type()));
  return r.to(send.device());
}

at::Tensor halo_exchange(const at::Tensor& owned, const ExchangePlan& plan, Communicator& comm, bool bf16) {
  return HaloExchangeFunction::apply(owned, &plan, &comm, bf16);
}


}  // namespace tkg
