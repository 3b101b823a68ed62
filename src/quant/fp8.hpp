// FP8 E4M3 (the OCP "E4M3FN" format): 1 sign bit, 4 exponent bits (bias 7), 3 mantissa bits,
// no infinities, NaN = S.1111.111, largest finite ±448, smallest subnormal 2^-9.
// LibTorch 1.13 has no float8 type, hence this conversion (GNAQ stores levels in FP8).
//
//   float_to_e4m3(1.0f) == 0x38, float_to_e4m3(-448.f) == 0xFE, float_to_e4m3(1e6f) == 0x7E
#pragma once

#include <cstddef>
#include <cstdint>

namespace tkg {

// Round to nearest, ties to even. Finite values beyond ±448 and ±infinity saturate to ±448
// (never NaN from a non-NaN input); NaN maps to 0x7F with its sign.
uint8_t float_to_e4m3(float f);
// Exact decoding (every E4M3 value is a float32).
float e4m3_to_float(uint8_t c);

void floats_to_e4m3(const float* in, uint8_t* out, size_t n);
void e4m3_to_floats(const uint8_t* in, float* out, size_t n);

}  // namespace tkg
