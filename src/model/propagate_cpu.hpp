// The fused layer's CPU kernels (internal to src/model; the operator is propagate.hpp): portable
// kernels compiled for the baseline ISA, parallel over work-balanced row and column blocks, with
// the AVX2 path of propagate_avx2.cpp for float32 where it runs (bit-identical). Raw pointers,
// no autograd: the dispatcher (propagate.cpp) owns the tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "model/propagate.hpp"

namespace tkg::propagate_cpu {

// Host pointers of a LayerGraph's arrays. Edge (v, w)'s user endpoint is v when
// v < n_user_rows, else w (layer_graph.hpp).
struct GraphPtrs {
  const int64_t *indptr, *csc_ptr;
  const int32_t *indices, *csc_edge, *csc_row;
  const float* norm;
  int64_t n_own, n_local, nnz, n_user_rows;
  const std::vector<int64_t>* row_blocks;
  const std::vector<int64_t>* col_blocks;
};
GraphPtrs ptrs(const LayerGraph& lg);

// Forward: y [n_own, d] (nullptr: skip it, the scalars only); per edge the attention weight a, the cosine and dω/(√(d_v d_w)) (cos,
// dom: unused for kOne); inv [n_local] = 1/‖x‖. T: float or double.
template <typename T>
void forward_kernel(const T* x, const T* beta, int64_t d, const GraphPtrs& g, Attention att, T* y, T* a_out,
                    T* cos_out, T* dom_out, T* inv);
// a and dom per edge from the saved cosines (and β): what forward_kernel computed, bit for bit.
template <typename T>
void weights_from_cos_kernel(const T* beta, const GraphPtrs& g, Attention att, const T* cos_e, T* a_out, T* dom_out);
// Backward from the saved per-edge scalars: gx [n_local, d], gbeta [n_local] (zero-filled by the caller).
// gt_scratch [nnz] (optional, may be dom_e, which is then overwritten): where dL/dt per edge goes.
template <typename T>
void backward_kernel(const T* x, const T* beta, const T* gy, int64_t d, const GraphPtrs& g, Attention att,
                     const T* a, const T* cos_e, const T* dom_e, const T* inv, T* gx, T* gbeta, T* gt_scratch = nullptr);

// The progress callback of this thread's kernels (KernelProgressScope); returns the previous one.
const std::function<void()>* set_kernel_progress(const std::function<void()>* p);
void set_simd(bool on);
// Whether the backward skips rows whose output gradient is all zero (default on; tests compare both).
void set_skip_zero_rows(bool on);
bool simd(int64_t d);  // whether the AVX2 path runs for width d

}  // namespace tkg::propagate_cpu
