// AVX2 kernels of the fused TopKGAT layer (float32, d = 32, 64 or 128), used by propagate.cpp on
// CPUs that have AVX2. They compute exactly what the portable kernels compute, bit for bit: the
// same operations in the same order (the dot product's four-lane accumulator summed lane by lane,
// y = a·x + y per element, no FMA), with the output row kept in registers across a row's edges,
// two edges' dot products interleaved, and the rows of the next edges prefetched.
// No torch here: raw pointers into the LayerGraph's tensors.
#pragma once

#include <cstdint>

namespace tkg::avx2 {

struct Csr {
  const int64_t *indptr, *csc_ptr;
  const int32_t *indices, *csc_edge;
  const float* norm;
  const int32_t* csc_row;  // [nnz] row of the edge at column position j
  int64_t n_user_rows;     // edge (v, w)'s user is v when v < n_user_rows, else w
  // Backward only: [n_own] rows whose output gradient is not all zero; the edges of the other rows
  // contribute exact zeros and are skipped (nullptr: every row).
  const uint8_t* active = nullptr;
};

// Whether this CPU runs the kernels and they exist for width d.
bool supported(int64_t d);

// att: 0 = ω TopK, 1 = ω ≡ 1, 2 = ReLU (the values of tkg::Attention).
// Forward over rows [b, e): y [n_own, d] (or nullptr: the per-edge scalars only), per edge
// a / cos / dom, inv [n_local] (given).
void forward_rows(const float* x, const float* beta, int64_t d, const Csr& g, int att, int64_t b, int64_t e,
                  const float* inv, float* y, float* a_out, float* cos_out, float* dom_out);
// Backward pass 1 over rows [b, e) (scored attentions only): gt per edge, gx rows, gbeta of row users.
void backward_rows(const float* x, const float* gy, int64_t d, const Csr& g, int64_t b, int64_t e, const float* cos_e,
                   const float* dom_e, const float* inv, float* gt, float* gx, float* gbeta);
// Backward pass 2 over columns [b, e): message gradients (and, scored, the cosine's column part).
void backward_cols(const float* x, const float* gy, int64_t d, const Csr& g, bool scored, int64_t b, int64_t e,
                   const float* a, const float* gt, const float* cos_e, const float* inv, float* gx, float* gbeta);

}  // namespace tkg::avx2
