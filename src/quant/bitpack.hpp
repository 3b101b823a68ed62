// Packing of b-bit codes (b in {1, 2, 4, 8}) into bytes: code k lives in byte k / (8/b) at bit
// offset (k % (8/b)) * b (least significant first).
//   b = 2, codes {3, 0, 1, 2, 1}  ->  bytes {0b10'01'00'11, 0b00'00'00'01} = {0x93, 0x01}
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tkg {

bool valid_code_bits(int bits);  // 1, 2, 4 or 8
size_t packed_bytes(size_t n_codes, int bits);
// codes: n values, each < 2^bits (checked). out: packed_bytes(n, bits) bytes.
void pack_codes(const uint8_t* codes, size_t n, int bits, uint8_t* out);
void unpack_codes(const uint8_t* packed, size_t n, int bits, uint8_t* out);

}  // namespace tkg
