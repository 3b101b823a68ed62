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

namespace tkg {

// An order-free checksum of a set of rows, each addressed by a global id: Σ XXH3-64(row bytes,
// seed = id), kept as two 32-bit lanes reduced mod 2^32, so that the partial sums of several
// ranks (each over its own rows) add up exactly in an int64 all-reduce. A file written by P
// ranks is then verified by Q ranks each reading only its own rows: the rows' sums over any
// partition of the rows are equal, and a changed or moved row changes the total (up to 2^-64).
class RowSetHash {
 public:
  void add(int64_t id, const void* bytes, size_t size);
  void add(const RowSetHash& other);  // the rows of both
  // The two lanes (for an all-reduce sum of int64; then reduce() the result).
  int64_t* lanes() { return lanes_; }
  void reduce();  // lanes back to [0, 2^32) after an all-reduce
  uint64_t value() const;

 private:
  int64_t lanes_[2] = {0, 0};
};

}  // namespace tkg
