#include "common/checksum.hpp"

#include <boost/crc.hpp>
#include <fstream>
#include <vector>

#include "common/error.hpp"

namespace tkg {

namespace {

uint32_t reflect32(uint32_t x) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1u);
  return r;
}

}  // namespace

uint32_t crc32_bytes(const void* data, size_t size, uint32_t previous) {
  // Continue a running CRC: the register after `previous` is previous ^ final-xor, and boost
  // takes the initial remainder of a reflected CRC in unreflected bit order.
  boost::crc_optimal<32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc(reflect32(previous ^ 0xFFFFFFFFu));
  crc.process_bytes(data, size);
  return crc.checksum();
}

uint32_t crc32_file(const std::string& path, uint64_t* size_out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "cannot open file for reading");
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  uint64_t total = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    crc = crc32_bytes(buf.data(), static_cast<size_t>(got), crc);
    total += static_cast<uint64_t>(got);
  }
  if (size_out) *size_out = total;
  return crc;
}

}  // namespace tkg

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tkg {

void RowSetHash::add(int64_t id, const void* bytes, size_t size) {
  const uint64_t h = XXH3_64bits_withSeed(bytes, size, static_cast<uint64_t>(id));
  lanes_[0] = (lanes_[0] + static_cast<int64_t>(h & 0xffffffffu)) & 0xffffffff;
  lanes_[1] = (lanes_[1] + static_cast<int64_t>(h >> 32)) & 0xffffffff;
}

void RowSetHash::add(const RowSetHash& o) {
  lanes_[0] = (lanes_[0] + o.lanes_[0]) & 0xffffffff;
  lanes_[1] = (lanes_[1] + o.lanes_[1]) & 0xffffffff;
}

void RowSetHash::reduce() {
  lanes_[0] &= 0xffffffff;
  lanes_[1] &= 0xffffffff;
}

uint64_t RowSetHash::value() const {
  return (static_cast<uint64_t>(lanes_[1] & 0xffffffff) << 32) | static_cast<uint64_t>(lanes_[0] & 0xffffffff);
}

}  // namespace tkg
