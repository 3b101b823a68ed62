// CRC-32 (IEEE, as zlib/PNG) over byte ranges and whole files, via Boost.CRC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tkg {

uint32_t crc32_bytes(const void* data, size_t size, uint32_t previous = 0);
// CRC-32 and size of a whole file; throws InputError if it cannot be read.
uint32_t crc32_file(const std::string& path, uint64_t* size_out = nullptr);

}  // namespace tkg
