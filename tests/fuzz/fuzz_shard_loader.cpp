// Fuzz target: the shard file loader (header, section table, checksum, structural validation),
// from memory and from a file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../fuzz/fuzz_support.hpp"
#include "common/error.hpp"
#include "format/shard_file.hpp"
#include "shard/shard.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    tkg::Shard s = tkg::parse_shard(bytes, "mem");
    // Whatever parses must serialize back to the same bytes.
    if (tkg::serialize_shard(s) != bytes) __builtin_trap();
  } catch (const tkg::InputError&) {
  }
  try {
    tkg::read_shard(tkg::fuzz::as_file(data, size, "shard.bin"));
  } catch (const tkg::InputError&) {
  }
  return 0;
}
