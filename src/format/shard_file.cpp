#include "format/shard_file.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "common/checksum.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "shard/shard_counts.hpp"

namespace tkg {

namespace {

enum SectionId : uint32_t {
  kOwned = 1,
  kHalo,
  kHaloOffsets,
  kIndptr,
  kIndices,
  kDegree,
  kSendOffsets,
  kSendList,
  kTrainIndptr,
  kTrainItems,
  kValidIndptr,
  kValidItems,
  kTestIndptr,
  kTestItems,
  kSectionCount = kTestItems
};

#pragma pack(push, 1)
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;  // header + section table
  uint64_t partition_id;
  int32_t rank;
  int32_t parts;
  int64_t n_users;
  int64_t n_items;
  int64_t n_own_users;
  uint32_t n_sections;
  uint32_t reserved;
};
struct SectionEntry {
  uint32_t id;
  uint32_t elem_bytes;
  uint64_t offset;  // from the start of the file
  uint64_t count;   // elements
};
#pragma pack(pop)

static_assert(sizeof(Header) == 64, "shard header layout");
static_assert(sizeof(SectionEntry) == 24, "shard section entry layout");

std::vector<std::pair<uint32_t, const std::vector<int64_t>*>> sections_of(const Shard& s) {
  return {{kOwned, &s.owned},           {kHalo, &s.halo},           {kHaloOffsets, &s.halo_offsets},
          {kIndptr, &s.indptr},         {kIndices, &s.indices},     {kDegree, &s.degree},
          {kSendOffsets, &s.send_offsets}, {kSendList, &s.send_list}, {kTrainIndptr, &s.train.indptr},
          {kTrainItems, &s.train.items}, {kValidIndptr, &s.valid.indptr}, {kValidItems, &s.valid.items},
          {kTestIndptr, &s.test.indptr}, {kTestItems, &s.test.items}};
}

std::vector<int64_t>* section_target(Shard& s, uint32_t id) {
  switch (id) {
    case kOwned: return &s.owned;
    case kHalo: return &s.halo;
    case kHaloOffsets: return &s.halo_offsets;
    case kIndptr: return &s.indptr;
    case kIndices: return &s.indices;
    case kDegree: return &s.degree;
    case kSendOffsets: return &s.send_offsets;
    case kSendList: return &s.send_list;
    case kTrainIndptr: return &s.train.indptr;
    case kTrainItems: return &s.train.items;
    case kValidIndptr: return &s.valid.indptr;
    case kValidItems: return &s.valid.items;
    case kTestIndptr: return &s.test.indptr;
    case kTestItems: return &s.test.items;
    default: return nullptr;
  }
}

}  // namespace

std::string serialize_shard(const Shard& s) {
  auto secs = sections_of(s);
  Header h{};
  std::memcpy(h.magic, kShardMagic, 8);
  h.version = kShardFormatVersion;
  h.header_bytes = static_cast<uint32_t>(sizeof(Header) + secs.size() * sizeof(SectionEntry));
  h.partition_id = s.partition_id;
  h.rank = s.rank;
  h.parts = s.parts;
  h.n_users = s.n_users;
  h.n_items = s.n_items;
  h.n_own_users = s.n_own_users;
  h.n_sections = static_cast<uint32_t>(secs.size());
  uint64_t total = h.header_bytes;
  std::vector<SectionEntry> table;
  for (auto& [id, vec] : secs) {
    table.push_back(SectionEntry{id, 8, total, static_cast<uint64_t>(vec->size())});
    total += vec->size() * 8;
  }
  std::string out;
  out.resize(total + 4);
  char* p = out.data();
  std::memcpy(p, &h, sizeof h);
  std::memcpy(p + sizeof h, table.data(), table.size() * sizeof(SectionEntry));
  for (size_t k = 0; k < secs.size(); ++k)
    if (!secs[k].second->empty()) std::memcpy(p + table[k].offset, secs[k].second->data(), secs[k].second->size() * 8);
  uint32_t crc = crc32_bytes(out.data(), total);
  std::memcpy(p + total, &crc, 4);
  return out;
}

void write_shard(const std::string& path, const Shard& s) { write_file_atomic(path, serialize_shard(s)); }

namespace {

// Where the bytes of a shard come from: memory, or a file read piece by piece (so that loading a
// shard needs its size in memory once, not twice).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  virtual void read(uint64_t offset, uint64_t n, void* dst) = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(const std::string& b) : b_(b) {}
  uint64_t size() const override { return b_.size(); }
  void read(uint64_t offset, uint64_t n, void* dst) override { std::memcpy(dst, b_.data() + offset, n); }

 private:
  const std::string& b_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw InputError(path, 0, "cannot open shard file");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, uint64_t n, void* dst) override {
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!in_ || static_cast<uint64_t>(in_.gcount()) != n) throw InputError(path_, 0, "read error in shard file");
  }

 private:
  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

Shard decode_shard(ByteSource& src, const std::string& name) {
  const uint64_t file_size = src.size();
  if (file_size < sizeof(Header) + 4) throw InputError(name, 0, "shard file truncated (shorter than its header)");
  Header h;
  src.read(0, sizeof h, &h);
  if (std::memcmp(h.magic, kShardMagic, 8) != 0) throw InputError(name, 0, "not a shard file (bad magic)");
  if (h.version != kShardFormatVersion)
    throw InputError(name, 0, "shard format version " + std::to_string(h.version) + ", this build reads version " +
                                  std::to_string(kShardFormatVersion) + " (re-run tkg-partition)");
  uint64_t expect_header = sizeof(Header) + static_cast<uint64_t>(h.n_sections) * sizeof(SectionEntry);
  if (h.header_bytes != expect_header || expect_header + 4 > file_size)
    throw InputError(name, 0, "shard file truncated or corrupt (section table does not fit)");
  // Pass 1: the checksum over everything before the trailer, in chunks (O(1) memory), so that a
  // corrupt section table is caught before it sizes any allocation.
  {
    std::vector<char> chunk(1 << 20);
    uint32_t crc = 0;
    for (uint64_t pos = 0; pos < file_size - 4;) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), file_size - 4 - pos);
      src.read(pos, n, chunk.data());
      crc = crc32_bytes(chunk.data(), n, crc);
      pos += n;
    }
    uint32_t stored_crc;
    src.read(file_size - 4, 4, &stored_crc);
    if (crc != stored_crc) throw InputError(name, 0, "shard checksum mismatch (file corrupt or truncated)");
  }
  std::vector<SectionEntry> table(h.n_sections);
  src.read(sizeof h, h.n_sections * sizeof(SectionEntry), table.data());
  // Pass 2: sections straight into the shard's arrays, bounds checked against the file first.
  uint64_t data_end = h.header_bytes;
  for (const SectionEntry& e : table) {
    if (e.elem_bytes != 8 || e.offset < h.header_bytes || e.count > file_size / 8 || e.offset > file_size)
      throw InputError(name, 0, "shard section " + std::to_string(e.id) + " is malformed");
    data_end = std::max<uint64_t>(data_end, e.offset + e.count * e.elem_bytes);
  }
  if (data_end + 4 != file_size)
    throw InputError(name, 0, "shard file truncated or has trailing bytes (expected " + std::to_string(data_end + 4) +
                                  " bytes, found " + std::to_string(file_size) + ")");
  Shard s;
  s.partition_id = h.partition_id;
  s.rank = h.rank;
  s.parts = h.parts;
  s.n_users = h.n_users;
  s.n_items = h.n_items;
  s.n_own_users = h.n_own_users;
  std::vector<bool> seen(kSectionCount + 1, false);
  for (const SectionEntry& e : table) {
    std::vector<int64_t>* dst = section_target(s, e.id);
    if (!dst) continue;  // unknown sections from a newer minor writer are skipped
    if (seen[e.id]) throw InputError(name, 0, "shard section " + std::to_string(e.id) + " appears twice");
    dst->resize(e.count);
    if (e.count) src.read(e.offset, e.count * 8, dst->data());
    seen[e.id] = true;
  }
  for (uint32_t id = 1; id <= kSectionCount; ++id)
    if (!seen[id]) throw InputError(name, 0, "shard is missing section " + std::to_string(id));
  validate_shard(s, name);
  return s;
}

}  // namespace

Shard parse_shard(const std::string& bytes, const std::string& name) {
  MemorySource src(bytes);
  return decode_shard(src, name);
}

Shard read_shard(const std::string& path) {
  FileSource src(path);
  return decode_shard(src, path);
}

ShardCounts count_shard_file(const std::string& path) {
  FileSource src(path);
  const uint64_t file_size = src.size();
  Header h{};
  if (file_size < sizeof h + 4) throw InputError(path, 0, "not a shard file (too short)");
  src.read(0, sizeof h, &h);
  if (std::memcmp(h.magic, kShardMagic, sizeof h.magic) != 0) throw InputError(path, 0, "not a shard file (bad magic)");
  if (h.version != kShardFormatVersion) throw InputError(path, 0, "unsupported shard format version " + std::to_string(h.version));
  if (h.n_sections > 64) throw InputError(path, 0, "shard section table is malformed");
  std::vector<SectionEntry> table(h.n_sections);
  src.read(sizeof h, h.n_sections * sizeof(SectionEntry), table.data());
  ShardCounts c;
  c.rank = h.rank, c.parts = h.parts, c.n_users = h.n_users, c.n_items = h.n_items, c.n_own_users = h.n_own_users;
  const SectionEntry *indptr = nullptr, *indices = nullptr;
  for (const SectionEntry& e : table) {
    if (e.elem_bytes != 8 || e.offset + e.count * 8 > file_size) throw InputError(path, 0, "shard section " + std::to_string(e.id) + " is malformed");
    c.shard_bytes += static_cast<int64_t>(8 * e.count);
    const int64_t n = static_cast<int64_t>(e.count);
    switch (e.id) {
      case kOwned: c.n_own = n; break;
      case kHalo: c.n_halo = n; break;
      case kIndptr: indptr = &e, c.csr_bytes += 8 * n; break;
      case kIndices: indices = &e, c.nnz = n, c.csr_bytes += 8 * n; break;
      case kSendList: c.n_send = n; break;
      case kTrainItems: c.train_lines = n; break;
      case kValidItems: c.valid_lines = n; break;
      case kTestItems: c.test_lines = n; break;
      default: break;
    }
  }
  if (!indptr || !indices || static_cast<int64_t>(indptr->count) != c.n_own + 1) throw InputError(path, 0, "shard has no valid CSR sections");
  // One pass over the rows, both sections read in blocks of 1 Mi entries.
  struct BlockReader {  // entry k of a section, read a block at a time
    FileSource& src;
    const SectionEntry& sec;
    std::vector<int64_t> buf;
    uint64_t at = 0;  // first entry held in buf
    int64_t operator()(uint64_t k) {
      if (k < at || k >= at + buf.size()) {
        at = k;
        buf.resize(std::min<uint64_t>(uint64_t{1} << 20, sec.count - k));
        src.read(sec.offset + 8 * k, 8 * buf.size(), buf.data());
      }
      return buf[k - at];
    }
  };
  BlockReader ptr_get{src, *indptr, {}}, idx_get{src, *indices, {}};
  int64_t begin = ptr_get(0);
  for (int64_t v = 0; v < c.n_own; ++v) {
    const int64_t end = ptr_get(static_cast<uint64_t>(v + 1));
    if (begin < 0 || end < begin || end > c.nnz) throw InputError(path, 0, "invalid shard: CSR indptr is not monotone");
    int64_t halo = 0;
    for (int64_t k = begin; k < end; ++k) halo += idx_get(static_cast<uint64_t>(k)) >= c.n_own;
    c.nnz_boundary += halo;
    c.boundary_rows += halo > 0;
    begin = end;
  }
  return c;
}

}  // namespace tkg
