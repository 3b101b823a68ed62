// GNAQ pieces that touch tensors (DESIGN §3): FP8 rounding with a straight-through gradient, the
// quantized layer-0 halo exchange, and the permutation of Adam state that DQS needs.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "model/collective_ops.hpp"

namespace tkg {

class Communicator;

// Rounds to FP8 E4M3 values in the forward pass; the gradient passes straight through.
//   x: any shape, float32, CPU -> same shape
at::Tensor fp8_round_ste(const at::Tensor& x);

// e'[i, t] = levels[i, codes[i, t]] (GNAQ's dequantized rows), differentiable in the levels.
//   levels: [n, 2^b] float32; codes: [n, d] uint8 -> [n, d] float32
// On the CPU the codes stay uint8 for the backward (1 byte per code, where at::gather would keep
// an int64 copy: 8); the backward sums each row's gradients by code in code order t = 0..d-1,
// as gather's backward does. Other devices take at::gather.
at::Tensor dequantize_rows(const at::Tensor& levels, const at::Tensor& codes);

struct QuantHalo {
  at::Tensor levels;  // [n_halo, 2^b] float32, differentiable (gradients return to the owners)
  at::Tensor codes;   // [n_halo, d] uint8
};

// Layer-0 halo exchange in quantized form: each owner sends, for the rows of its send lists, the
// packed b-bit codes and the FP8 levels (d·b/8 + 2^b bytes per row); receivers decode.
//   levels: [n_own, 2^b] float32, FP8-representable (fp8_round_ste output); codes: [n_own, d] uint8.
// Backward: fp32 gradients of the halo levels go back and are summed into the owners' rows.
QuantHalo quantized_halo_exchange(const at::Tensor& levels, const at::Tensor& codes, int bits, const ExchangePlan& plan,
                                  Communicator& comm);

struct LayerGraph;

// RAU input of the paper: the mean of each owned node's first-order neighbours' rows.
//   local_rows: [n_local, d] (owned rows, then halo rows) -> [n_own, d]; rows of isolated nodes are 0.
at::Tensor neighbour_mean(const LayerGraph& g, const at::Tensor& local_rows);

// RAU binning: new codes [n, d] uint8 for values [n, d] against each node's levels [n, 2^b]
// (any order; codes index the given order). bins = "levels": the nearest level (boundaries at the
// midpoints of the sorted levels, the paper); "uniform": 2^b equal bins over the row's own
// min..max (the official code).
at::Tensor rebin_codes(const at::Tensor& values, const at::Tensor& levels, int bits, const std::string& bins);

}  // namespace tkg
