// CUDA kernels of the fused TopKGAT layer (the GPU twin of the CPU operator in propagate.cpp):
// one warp per row (forward, backward pass 1) or per column (backward pass 2), only per-edge
// scalars saved, no atomics (each output row has one writer), so results are deterministic.
// Raw device pointers, no torch here: propagate.cpp wraps them in an autograd Function. All
// launches go to the legacy default stream (where LibTorch runs its kernels by default) and are
// checked; a failure throws std::runtime_error naming the kernel.
#pragma once

#include <cstdint>

namespace tkg::cuda {

// Graph arrays on the device (the LayerGraph tensors).
struct DeviceGraph {
  const int64_t* indptr;     // [n_own + 1]
  const int32_t* indices;    // [nnz] local column of each edge
  const int32_t* edge_row;   // [nnz]
  const int32_t* edge_user;  // [nnz] local id of the edge's user endpoint
  const float* norm;         // [nnz] 1 / sqrt(d_row d_col)
  const int64_t* csc_ptr;    // [n_local + 1]
  const int32_t* csc_edge;   // [nnz] edge ids grouped by column
  int64_t n_own, n_local, nnz;
};

// attention: 0 = topk, 1 = one (LightGCN), 2 = relu (the values of tkg::Attention).
//   x [n_local, d], beta [n_local] -> y [n_own, d]; saves a [nnz], cos [nnz], dom [nnz]
//   (ω'(t)/sqrt(d_v d_w)) and inv [n_local] (1/‖x‖); cos, dom, inv unused for attention 1.
template <typename T>
void propagate_forward(const T* x, const T* beta, int64_t d, const DeviceGraph& g, int attention, T* y, T* a,
                       T* cos, T* dom, T* inv);

// gy [n_own, d] -> gx [n_local, d], gbeta [n_local] (both zero-filled by the caller); gt [nnz]
// is scratch (dL/dt per edge).
template <typename T>
void propagate_backward(const T* x, const T* gy, int64_t d, const DeviceGraph& g, int attention, const T* a,
                        const T* cos, const T* dom, const T* inv, T* gt, T* gx, T* gbeta);

}  // namespace tkg::cuda
