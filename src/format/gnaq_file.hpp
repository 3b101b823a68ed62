// The exported GNAQ model (RUNDIR/model.gnaq): every node's packed codes and FP8 levels by global
// id, plus the users' β logits, so a model can be evaluated or serve top-K lists without the
// fp32 table, with any number of ranks.
//
// Layout (little-endian):
//   header, 64 bytes: magic "TKGGNAQ\0", u32 version (2), u32 bits, i64 n_users, i64 n_items,
//                     i64 dim, i64 beta_columns, u32 flags (1: levels concatenated, 2: tanh),
//                     u32 reserved, u64 reserved
//   records: n_users + n_items × (ceil(dim·bits/8) bytes of packed codes, 2^bits FP8 levels)
//   beta:    n_users × beta_columns float32
//   trailer, 16 bytes (version 2): u32 CRC-32 of the header, u32 zero, u64 row-set hash of the
//            records (seed: global id) and β rows (seed: n_users + n_items + user id)
//   (version 1, still read: a u32 CRC-32 of everything before it)
// Ranks write their own records at fixed offsets (pwrite) and hash them; rank 0 seals the file
// with the summed hash and renames it into place. Readers check the header and the size; each
// rank hashes the rows it reads, and the sum over ranks must equal the trailer's (no rank reads
// the whole file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/checksum.hpp"

namespace tkg {

struct GnaqHeader {
  int version = 2;
  int bits = 2;
  int64_t n_users = 0, n_items = 0, dim = 0, beta_columns = 0;
  bool concat_levels = true, tanh = false;
  uint64_t row_hash = 0;         // version 2: the trailer's row-set hash (after gnaq_open)
  int64_t record_bytes() const;  // packed codes + levels
  int64_t file_bytes() const;    // including the trailer
};

// Rank 0: creates PATH.tmp of the full size with the header.
void gnaq_create(const std::string& path, const GnaqHeader& h);
// Every rank: node records for global ids `gids` (codes [n, dim] uint8 unpacked, levels [n, 2^b]
// float32, FP8-rounded on write), and β rows for user ids `users` ([n_users_own, beta_columns]).
// Returns the row-set hash of what it wrote.
RowSetHash gnaq_write(const std::string& path, const GnaqHeader& h, const std::vector<int64_t>& gids, const uint8_t* codes,
                      const float* levels, const std::vector<int64_t>& users, const float* beta);
// Rank 0, after all ranks wrote: writes the trailer with `row_hash` (the ranks' hashes summed),
// flushes, and renames PATH.tmp to PATH. O(1): it reads nothing back.
void gnaq_seal(const std::string& path, const GnaqHeader& h, uint64_t row_hash);

// Validates magic, version, header fields and checksum, and the file size (InputError
// otherwise) and returns the header. Version 2 reads the header and the trailer only; version 1
// checks its whole-file CRC.
GnaqHeader gnaq_open(const std::string& path);
// Reads the records of `gids` (codes unpacked, levels decoded) and the β rows of `users`;
// returns the row-set hash of the bytes read (to be summed over ranks and compared with h.row_hash).
RowSetHash gnaq_read(const std::string& path, const GnaqHeader& h, const std::vector<int64_t>& gids, uint8_t* codes,
                     float* levels, const std::vector<int64_t>& users, float* beta);

}  // namespace tkg
