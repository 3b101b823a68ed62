// GNAQ's node-aware quantization of an embedding table (DESIGN §3), on plain arrays.
//
// Node i has 2^b levels S_i and d codes q_i ∈ {0..2^b−1}; its dequantized row is
// e'_i[t] = S_i[q_i[t]]. Example, b = 1, row e = (0.0, 1.0, 0.2): min 0, gap 0.5, codes
// (0, 1, 0), levels (0.25, 0.75) — the bin midpoints.
#pragma once

#include <cstdint>

namespace tkg {

// Initialisation from a full-precision table [n, d]: gap_i = (max e_i − min e_i) / 2^b,
// q = bin index of each value (clamped), S_i[k] = min_i + (k + ½) gap_i. A constant row gets
// gap 0: all codes 0 and all levels equal to the value.
//   table [n, d] float; codes [n, d] uint8 (out); levels [n, 2^b] float (out)
void quantize_rows(const float* table, int64_t n, int64_t d, int bits, uint8_t* codes, float* levels);

// out [n, d] = levels[i, codes[i, t]]
void dequantize_rows(const uint8_t* codes, const float* levels, int64_t n, int64_t d, int bits, float* out);

// DQS: sorts each node's levels ascending and remaps its codes so the dequantized rows do not
// change. perm (optional, [n, 2^b]) receives, per node, the old index of each new position, for
// permuting optimizer state the same way.
void sort_levels(float* levels, uint8_t* codes, int64_t n, int64_t d, int bits, uint8_t* perm = nullptr);

// RAU binning of the paper: each value of values [n, d] gets the code of the nearest of its
// node's levels (sorted ascending), i.e. the bin between the midpoints of adjacent levels
// (ties go to the lower level).
void requantize_nearest(const float* values, const float* sorted_levels, int64_t n, int64_t d, int bits,
                        uint8_t* codes);

// RAU binning of the official code: uniform 2^b bins over each row's own min..max.
void requantize_uniform(const float* values, int64_t n, int64_t d, int bits, uint8_t* codes);

// Bytes per node of the stored model: packed codes + FP8 levels (b = 2, d = 64: 16 + 4 = 20).
int64_t quantized_bytes_per_node(int64_t d, int bits);

}  // namespace tkg
