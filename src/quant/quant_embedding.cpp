#include "quant/quant_embedding.hpp"

#include <sstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <type_traits>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "quant/bitpack.hpp"
#include "quant/fp8.hpp"
#include "quant/quantized_table.hpp"
#include "model/propagate.hpp"

namespace tkg {

at::Tensor fp8_round_ste(const at::Tensor& x) {
  at::Tensor v = x.detach().to(at::kCPU).contiguous();  // the rounding runs on the host
  at::Tensor r = at::empty_like(v);
  const float* in = v.data_ptr<float>();
  float* out = r.data_ptr<float>();
  for (int64_t k = 0; k < v.numel(); ++k) out[k] = e4m3_to_float(float_to_e4m3(in[k]));
  return x + (r.to(x.device()) - x.detach());  // value r, gradient of x
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class DequantizeFunction : public torch::autograd::Function<DequantizeFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, at::Tensor levels, at::Tensor codes) {
    levels = levels.contiguous(), codes = codes.contiguous();
    const int64_t n = codes.size(0), d = codes.size(1), L = levels.size(1);
    at::Tensor out = at::empty({n, d}, levels.options());  // [n, d]
    const float* lv = levels.data_ptr<float>();
    const uint8_t* q = codes.data_ptr<uint8_t>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        for (int64_t t = 0; t < d; ++t) o[i * d + t] = lv[i * L + q[i * d + t]];
    });
    ctx->save_for_backward({codes});
    ctx->saved_data["levels"] = L;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const at::Tensor codes = ctx->get_saved_variables()[0];
    const int64_t n = codes.size(0), d = codes.size(1), L = ctx->saved_data["levels"].toInt();
    const at::Tensor g = grad[0].contiguous();  // [n, d]
    at::Tensor gl = at::zeros({n, L}, g.options());  // [n, L]
    const float* gp = g.data_ptr<float>();
    const uint8_t* q = codes.data_ptr<uint8_t>();
    float* out = gl.data_ptr<float>();
    at::parallel_for(0, n, 1024, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        for (int64_t t = 0; t < d; ++t) out[i * L + q[i * d + t]] += gp[i * d + t];
    });
    return {gl, at::Tensor()};
  }
};

}  // namespace

at::Tensor dequantize_rows(const at::Tensor& levels, const at::Tensor& codes) {
  TKG_CHECK(levels.dim() == 2 && codes.dim() == 2 && levels.size(0) == codes.size(0), "levels [n, L], codes [n, d]");
  TKG_CHECK(codes.scalar_type() == at::kByte && levels.scalar_type() == at::kFloat, "float32 levels, uint8 codes");
  if (!levels.is_cpu() || !codes.is_cpu()) return at::gather(levels, 1, codes.to(at::kLong));
  return DequantizeFunction::apply(levels, codes);
}

namespace {

class QuantHaloFunction : public torch::autograd::Function<QuantHaloFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, at::Tensor levels, at::Tensor codes, int64_t bits,
                               const ExchangePlan* plan, Communicator* comm) {
    ctx->saved_data["plan"] = reinterpret_cast<int64_t>(plan);
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    ctx->saved_data["levels"] = levels.size(1);
    const int64_t L = levels.size(1), d = codes.size(1);
    const int64_t pb = static_cast<int64_t>(packed_bytes(static_cast<size_t>(d), static_cast<int>(bits)));
    const int64_t row = L + pb;  // bytes per row on the wire
    // Packing and decoding run on the host; the wire rows travel through exchange_rows (staged
    // to the communicator's device for NCCL).
    at::Tensor lv = levels.detach().index_select(0, plan->send_index).to(at::kCPU).contiguous();  // [n_send, L]
    at::Tensor cd = codes.index_select(0, plan->send_index).to(at::kCPU).contiguous();            // [n_send, d]
    const int64_t n_send = lv.size(0);
    at::Tensor send = at::empty({n_send, row}, at::kByte);  // [n_send, L + packed] wire rows, CPU
    uint8_t* sp = send.data_ptr<uint8_t>();
    for (int64_t k = 0; k < n_send; ++k) {
      floats_to_e4m3(lv.data_ptr<float>() + k * L, sp + k * row, static_cast<size_t>(L));
      pack_codes(cd.data_ptr<uint8_t>() + k * d, static_cast<size_t>(d), static_cast<int>(bits), sp + k * row + L);
    }
    TrafficScope scope(*comm, plan->traffic);
    CollectiveSite site(*comm, "quantized_halo(" + plan->name + ").forward");
    at::Tensor recv = exchange_rows(send, plan->send_rows, plan->recv_rows, plan->n_recv, *comm);  // [n_halo, row] CPU
    const uint8_t* rp = recv.data_ptr<uint8_t>();
    at::Tensor hl = at::empty({plan->n_recv, L}, at::kFloat);   // [n_halo, L]
    at::Tensor hc = at::empty({plan->n_recv, d}, at::kByte);    // [n_halo, d]
    for (int64_t k = 0; k < plan->n_recv; ++k) {
      e4m3_to_floats(rp + k * row, hl.data_ptr<float>() + k * L, static_cast<size_t>(L));
      unpack_codes(rp + k * row + L, static_cast<size_t>(d), static_cast<int>(bits), hc.data_ptr<uint8_t>() + k * d);
    }
    hl = hl.to(levels.device());
    hc = hc.to(levels.device());
    ctx->mark_non_differentiable({hc});
    return {hl, hc};
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto* plan = reinterpret_cast<const ExchangePlan*>(ctx->saved_data["plan"].toInt());
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    // An undefined gradient (this rank's halo levels did not reach the loss) still takes part
    // in the reverse exchange as zeros: every rank makes the call.
    const int64_t L = ctx->saved_data["levels"].toInt();
    const at::TensorOptions f32 = plan->send_index.options().dtype(at::kFloat);  // the model's device
    at::Tensor g = grad[0].defined() ? grad[0] : at::zeros({plan->n_recv, L}, f32);  // [n_halo, L]
    TrafficScope scope(*comm, plan->traffic);
    CollectiveSite site(*comm, "quantized_halo(" + plan->name + ").backward");
    at::Tensor back = exchange_rows(g, plan->recv_rows, plan->send_rows, plan->send_index.size(0), *comm);  // [n_send, L]
    at::Tensor g_own = at::zeros({plan->n_own, L}, f32).index_add_(0, plan->send_index, back);
    return {g_own, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

QuantHalo quantized_halo_exchange(const at::Tensor& levels, const at::Tensor& codes, int bits, const ExchangePlan& plan,
                                  Communicator& comm) {
  TKG_CHECK(levels.dim() == 2 && levels.size(0) == plan.n_own && levels.scalar_type() == at::kFloat, "levels [n_own, L] float32");
  TKG_CHECK(codes.dim() == 2 && codes.size(0) == plan.n_own && codes.scalar_type() == at::kByte, "codes [n_own, d] uint8");
  auto out = QuantHaloFunction::apply(levels, codes, static_cast<int64_t>(bits), &plan, &comm);
  return QuantHalo{out[0], out[1]};
}

at::Tensor neighbour_mean(const LayerGraph& g, const at::Tensor& local_rows) {
  TKG_CHECK(local_rows.dim() == 2 && local_rows.size(0) == g.n_local, "local_rows must be [n_local, d]");
  at::Tensor sum = at::zeros({g.n_own, local_rows.size(1)}, local_rows.options())
                       .index_add_(0, edge_rows(g), local_rows.index_select(0, g.indices));
  at::Tensor deg = (g.indptr.narrow(0, 1, g.n_own) - g.indptr.narrow(0, 0, g.n_own)).to(at::kFloat).clamp_min(1);
  return sum / deg.unsqueeze(1);
}

at::Tensor rebin_codes(const at::Tensor& values, const at::Tensor& levels, int bits, const std::string& bins) {
  // Binning runs on the host; the codes return to the device of `levels`.
  if (!levels.device().is_cpu()) return rebin_codes(values.to(at::kCPU), levels.to(at::kCPU), bits, bins).to(levels.device());
  at::Tensor v = values.detach().contiguous();
  const int64_t n = v.size(0), d = v.size(1);
  std::vector<uint8_t> fresh(static_cast<size_t>(n * d));
  if (bins == "uniform") {
    requantize_uniform(v.data_ptr<float>(), n, d, bits, fresh.data());
    return at::from_blob(fresh.data(), {n, d}, at::kByte).clone();
  }
  TKG_CHECK(bins == "levels", "unknown RAU binning '" << bins << "'");
  at::Tensor lv = levels.detach();
  at::Tensor order = std::get<1>(lv.sort(1));  // [n, L] original index of each sorted slot
  at::Tensor sorted = lv.gather(1, order).contiguous();
  requantize_nearest(v.data_ptr<float>(), sorted.data_ptr<float>(), n, d, bits, fresh.data());
  at::Tensor idx = at::from_blob(fresh.data(), {n, d}, at::kByte).to(at::kLong);
  return order.gather(1, idx).to(at::kByte);
}

}  // namespace tkg
