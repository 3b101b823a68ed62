// The shard file (shard-NNNNN.bin, DESIGN §6): a 64-byte header (magic, version, partition id,
// rank, parts, global counts), a table of sections (id, element bytes, offset, count), the
// sections as int64 little-endian, then a CRC-32 of everything before it. No torch here.
#pragma once

#include <cstdint>
#include <string>

#include "shard/shard.hpp"
#include "shard/shard_counts.hpp"

namespace tkg {

constexpr char kShardMagic[8] = {'T', 'K', 'G', 'S', 'H', 'R', 'D', '\0'};
constexpr uint32_t kShardFormatVersion = 1;

std::string serialize_shard(const Shard& s);
void write_shard(const std::string& path, const Shard& s);  // temp name, fsync, rename

// Parses and fully validates (see validate_shard). Throws InputError naming the file and the
// problem: bad magic, wrong version, truncated, bad checksum, inconsistent sections.
Shard parse_shard(const std::string& bytes, const std::string& name);
Shard read_shard(const std::string& path);  // streamed: the file is never held whole

// The sizes of a shard file (shard/shard_counts.hpp) without holding any of its sections: the
// header's section table, then one streamed pass over the CSR. InputError on a malformed file.
ShardCounts count_shard_file(const std::string& path);

}  // namespace tkg
