#include "quant/quantized_table.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

#include "common/error.hpp"
#include "quant/bitpack.hpp"

namespace tkg {

namespace {

inline uint8_t uniform_bin(float x, float lo, float gap, int levels) {
  if (!(gap > 0)) return 0;
  int k = static_cast<int>((x - lo) / gap);
  return static_cast<uint8_t>(std::clamp(k, 0, levels - 1));
}

}  // namespace

void quantize_rows(const float* table, int64_t n, int64_t d, int bits, uint8_t* codes, float* levels) {
  TKG_CHECK(valid_code_bits(bits), "bits must be 1, 2, 4 or 8");
  const int L = 1 << bits;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = table + i * d;
    auto [mn, mx] = std::minmax_element(row, row + d);
    const float lo = *mn, gap = (*mx - *mn) / static_cast<float>(L);
    for (int64_t t = 0; t < d; ++t) codes[i * d + t] = uniform_bin(row[t], lo, gap, L);
    for (int k = 0; k < L; ++k) levels[i * L + k] = lo + (static_cast<float>(k) + 0.5f) * gap;
  }
}

void dequantize_rows(const uint8_t* codes, const float* levels, int64_t n, int64_t d, int bits, float* out) {
  const int L = 1 << bits;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < d; ++t) out[i * d + t] = levels[i * L + codes[i * d + t]];
}

void sort_levels(float* levels, uint8_t* codes, int64_t n, int64_t d, int bits, uint8_t* perm) {
  const int L = 1 << bits;
  std::vector<int> order(static_cast<size_t>(L));
  std::vector<uint8_t> new_code(static_cast<size_t>(L));
  std::vector<float> sorted(static_cast<size_t>(L));
  for (int64_t i = 0; i < n; ++i) {
    float* s = levels + i * L;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s[a] < s[b]; });
    for (int k = 0; k < L; ++k) {
      sorted[k] = s[order[k]];
      new_code[order[k]] = static_cast<uint8_t>(k);
      if (perm) perm[i * L + k] = static_cast<uint8_t>(order[k]);
    }
    std::copy(sorted.begin(), sorted.end(), s);
    for (int64_t t = 0; t < d; ++t) codes[i * d + t] = new_code[codes[i * d + t]];
  }
}

void requantize_nearest(const float* values, const float* sorted_levels, int64_t n, int64_t d, int bits,
                        uint8_t* codes) {
  const int L = 1 << bits;
  for (int64_t i = 0; i < n; ++i) {
    const float* s = sorted_levels + i * L;
    for (int64_t t = 0; t < d; ++t) {
      const float x = values[i * d + t];
      int k = 0;  // number of midpoints strictly below x
      while (k + 1 < L && x > 0.5f * (s[k] + s[k + 1])) ++k;
      codes[i * d + t] = static_cast<uint8_t>(k);
    }
  }
}

void requantize_uniform(const float* values, int64_t n, int64_t d, int bits, uint8_t* codes) {
  const int L = 1 << bits;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = values + i * d;
    auto [mn, mx] = std::minmax_element(row, row + d);
    const float gap = (*mx - *mn) / static_cast<float>(L);
    for (int64_t t = 0; t < d; ++t) codes[i * d + t] = uniform_bin(row[t], *mn, gap, L);
  }
}

int64_t quantized_bytes_per_node(int64_t d, int bits) {
  return static_cast<int64_t>(packed_bytes(static_cast<size_t>(d), bits)) + (int64_t{1} << bits);
}

}  // namespace tkg
