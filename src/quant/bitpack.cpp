#include "quant/bitpack.hpp"

#include <cstring>

#include "common/error.hpp"

namespace tkg {

bool valid_code_bits(int bits) { return bits == 1 || bits == 2 || bits == 4 || bits == 8; }

size_t packed_bytes(size_t n_codes, int bits) { return (n_codes * static_cast<size_t>(bits) + 7) / 8; }

void pack_codes(const uint8_t* codes, size_t n, int bits, uint8_t* out) {
  TKG_CHECK(valid_code_bits(bits), "bits must be 1, 2, 4 or 8, got " << bits);
  const size_t per = 8 / static_cast<size_t>(bits);
  const unsigned limit = 1u << bits;
  std::memset(out, 0, packed_bytes(n, bits));
  for (size_t k = 0; k < n; ++k) {
    TKG_CHECK(codes[k] < limit || bits == 8, "code " << int(codes[k]) << " does not fit in " << bits << " bits");
    out[k / per] |= static_cast<uint8_t>(codes[k] << ((k % per) * static_cast<size_t>(bits)));
  }
}

void unpack_codes(const uint8_t* packed, size_t n, int bits, uint8_t* out) {
  TKG_CHECK(valid_code_bits(bits), "bits must be 1, 2, 4 or 8, got " << bits);
  const size_t per = 8 / static_cast<size_t>(bits);
  const unsigned mask = (1u << bits) - 1u;
  for (size_t k = 0; k < n; ++k)
    out[k] = static_cast<uint8_t>((packed[k / per] >> ((k % per) * static_cast<size_t>(bits))) & mask);
}

}  // namespace tkg
