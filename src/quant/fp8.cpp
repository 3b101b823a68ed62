#include "quant/fp8.hpp"

#include <cmath>
#include <cstring>

namespace tkg {

uint8_t float_to_e4m3(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint8_t sign = static_cast<uint8_t>((u >> 31) << 7);
  if (std::isnan(f)) return sign | 0x7F;
  const float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7E;  // saturate (also ±inf)
  const int exp = static_cast<int>((u >> 23) & 0xFF) - 127;
  if (exp < -6) {
    // Subnormal range: units of 2^-9. a * 512 is exact; nearbyint rounds half to even.
    const int q = static_cast<int>(std::nearbyint(a * 512.0f));
    return sign | static_cast<uint8_t>(q);  // q == 8 is the smallest normal, 0x08: same bits
  }
  const uint32_t mant = u & 0x7FFFFF;
  uint32_t q = mant >> 20;                     // top 3 mantissa bits
  const uint32_t round_bit = (mant >> 19) & 1;
  const uint32_t sticky = mant & 0x7FFFF;
  if (round_bit && (sticky || (q & 1))) ++q;   // ties to even
  int e = exp;
  if (q == 8) q = 0, ++e;
  uint32_t code = (static_cast<uint32_t>(e + 7) << 3) | q;
  if (code > 0x7E) code = 0x7E;                // 0x7F is NaN: saturate instead
  return sign | static_cast<uint8_t>(code);
}

float e4m3_to_float(uint8_t c) {
  const float sign = (c & 0x80) ? -1.0f : 1.0f;
  const int e = (c >> 3) & 0xF, m = c & 7;
  if (e == 15 && m == 7) return std::nanf("");
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
}

void floats_to_e4m3(const float* in, uint8_t* out, size_t n) {
  for (size_t k = 0; k < n; ++k) out[k] = float_to_e4m3(in[k]);
}

void e4m3_to_floats(const uint8_t* in, float* out, size_t n) {
  for (size_t k = 0; k < n; ++k) out[k] = e4m3_to_float(in[k]);
}

}  // namespace tkg
