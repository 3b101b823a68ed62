#include "format/gnaq_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/checksum.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "quant/bitpack.hpp"
#include "quant/fp8.hpp"

namespace tkg {

namespace {

constexpr char kMagic[8] = {'T', 'K', 'G', 'G', 'N', 'A', 'Q', '\0'};
constexpr uint32_t kVersion = 2;
constexpr int64_t kTrailerBytes = 16;
constexpr int64_t kHeaderBytes = 64;

#pragma pack(push, 1)
struct RawHeader {
  char magic[8];
  uint32_t version, bits;
  int64_t n_users, n_items, dim, beta_columns;
  uint32_t flags, reserved;
  uint64_t reserved2;
};
#pragma pack(pop)
static_assert(sizeof(RawHeader) == kHeaderBytes, "gnaq header layout");

int64_t levels_of(const GnaqHeader& h) { return int64_t{1} << h.bits; }
int64_t beta_offset(const GnaqHeader& h) { return kHeaderBytes + (h.n_users + h.n_items) * h.record_bytes(); }

struct Fd {
  int fd;
  Fd(const std::string& path, int flags) : fd(::open(path.c_str(), flags, 0644)) {
    if (fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  }
  ~Fd() { ::close(fd); }
};

void pwrite_all(int fd, const void* p, size_t n, int64_t off, const std::string& path) {
  if (::pwrite(fd, p, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) throw InputError(path, 0, "short write");
}
void pread_all(int fd, void* p, size_t n, int64_t off, const std::string& path) {
  if (::pread(fd, p, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) throw InputError(path, 0, "truncated file");
}

}  // namespace

int64_t GnaqHeader::record_bytes() const {
  return static_cast<int64_t>(packed_bytes(static_cast<size_t>(dim), bits)) + (int64_t{1} << bits);
}
int64_t GnaqHeader::file_bytes() const { return beta_offset(*this) + n_users * beta_columns * 4 + (version >= 2 ? kTrailerBytes : 4); }

namespace {
// Seeds of the row-set hash: node records by global id, β rows after all nodes.
int64_t beta_seed(const GnaqHeader& h, int64_t user) { return h.n_users + h.n_items + user; }
}  // namespace

void gnaq_create(const std::string& path, const GnaqHeader& h) {
  TKG_CHECK(valid_code_bits(h.bits), "bits");
  RawHeader r{};
  std::memcpy(r.magic, kMagic, 8);
  r.version = kVersion;
  r.bits = static_cast<uint32_t>(h.bits);
  r.n_users = h.n_users, r.n_items = h.n_items, r.dim = h.dim, r.beta_columns = h.beta_columns;
  r.flags = (h.concat_levels ? 1u : 0u) | (h.tanh ? 2u : 0u);
  GnaqHeader v = h;
  v.version = static_cast<int>(kVersion);
  const std::string tmp = path + ".tmp";
  Fd f(tmp, O_CREAT | O_TRUNC | O_RDWR);
  pwrite_all(f.fd, &r, sizeof r, 0, tmp);
  if (::ftruncate(f.fd, static_cast<off_t>(v.file_bytes())) != 0) throw InputError(tmp, 0, "cannot size file (disk full?)");
}

RowSetHash gnaq_write(const std::string& path, const GnaqHeader& h, const std::vector<int64_t>& gids, const uint8_t* codes,
                      const float* levels, const std::vector<int64_t>& users, const float* beta) {
  const std::string tmp = path + ".tmp";
  Fd f(tmp, O_RDWR);
  const int64_t L = levels_of(h), rb = h.record_bytes();
  std::vector<uint8_t> rec(static_cast<size_t>(rb));
  RowSetHash hash;
  for (size_t k = 0; k < gids.size(); ++k) {
    pack_codes(codes + k * h.dim, static_cast<size_t>(h.dim), h.bits, rec.data());
    floats_to_e4m3(levels + k * L, rec.data() + (rb - L), static_cast<size_t>(L));
    pwrite_all(f.fd, rec.data(), rec.size(), kHeaderBytes + gids[k] * rb, tmp);
    hash.add(gids[k], rec.data(), rec.size());
  }
  const size_t bb = static_cast<size_t>(h.beta_columns) * 4;
  for (size_t k = 0; k < users.size(); ++k) {
    pwrite_all(f.fd, beta + k * h.beta_columns, bb, beta_offset(h) + users[k] * h.beta_columns * 4, tmp);
    hash.add(beta_seed(h, users[k]), beta + k * h.beta_columns, bb);
  }
  if (::fsync(f.fd) != 0) throw InputError(tmp, 0, std::string("cannot flush: ") + std::strerror(errno));
  return hash;
}

void gnaq_seal(const std::string& path, const GnaqHeader& h, uint64_t row_hash) {
  const std::string tmp = path + ".tmp";
  GnaqHeader v = h;
  v.version = static_cast<int>(kVersion);
  {
    Fd f(tmp, O_RDWR);
    char header[kHeaderBytes];
    pread_all(f.fd, header, sizeof header, 0, tmp);
    uint8_t trailer[kTrailerBytes] = {0};
    const uint32_t crc = crc32_bytes(header, sizeof header);
    std::memcpy(trailer, &crc, 4);
    std::memcpy(trailer + 8, &row_hash, 8);
    pwrite_all(f.fd, trailer, sizeof trailer, v.file_bytes() - kTrailerBytes, tmp);
    if (::fsync(f.fd) != 0) throw InputError(tmp, 0, std::string("cannot flush: ") + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw InputError(path, 0, std::string("cannot rename: ") + std::strerror(errno));
}

GnaqHeader gnaq_open(const std::string& path) {
  Fd f(path, O_RDONLY);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw InputError(path, 0, std::string("cannot stat: ") + std::strerror(errno));
  const int64_t size = static_cast<int64_t>(st.st_size);
  if (size < kHeaderBytes + 4) throw InputError(path, 0, "GNAQ model file truncated");
  RawHeader r;
  pread_all(f.fd, &r, sizeof r, 0, path);
  if (std::memcmp(r.magic, kMagic, 8) != 0) throw InputError(path, 0, "not a GNAQ model file (bad magic)");
  if (r.version != 1 && r.version != kVersion)
    throw InputError(path, 0, "GNAQ model version " + std::to_string(r.version) + ", this build reads 1 and " + std::to_string(kVersion));
  GnaqHeader h;
  h.version = static_cast<int>(r.version);
  h.bits = static_cast<int>(r.bits);
  if (!valid_code_bits(h.bits)) throw InputError(path, 0, "invalid bits " + std::to_string(r.bits));
  h.n_users = r.n_users, h.n_items = r.n_items, h.dim = r.dim, h.beta_columns = r.beta_columns;
  h.concat_levels = r.flags & 1u;
  h.tanh = r.flags & 2u;
  // Field ranges first, so the sizes computed from them cannot overflow (found by fuzzing).
  constexpr int64_t kMaxNodes = int64_t{1} << 40, kMaxDim = 65536, kMaxBetaColumns = 1024;
  if (h.n_users < 0 || h.n_items < 0 || h.n_users > kMaxNodes || h.n_items > kMaxNodes || h.dim < 1 ||
      h.dim > kMaxDim || h.beta_columns < 0 || h.beta_columns > kMaxBetaColumns)
    throw InputError(path, 0, "GNAQ model header out of range (corrupt file?)");
  if (size != h.file_bytes()) throw InputError(path, 0, "GNAQ model file truncated or inconsistent with its header");
  if (h.version == 1) {  // the whole-file CRC of the first format
    std::string bytes = read_file(path);
    uint32_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    if (crc32_bytes(bytes.data(), bytes.size() - 4) != stored) throw InputError(path, 0, "GNAQ model checksum mismatch");
    return h;
  }
  uint8_t trailer[kTrailerBytes];
  pread_all(f.fd, trailer, sizeof trailer, size - kTrailerBytes, path);
  uint32_t stored;
  std::memcpy(&stored, trailer, 4);
  if (crc32_bytes(&r, sizeof r) != stored) throw InputError(path, 0, "GNAQ model header checksum mismatch");
  std::memcpy(&h.row_hash, trailer + 8, 8);
  return h;
}

RowSetHash gnaq_read(const std::string& path, const GnaqHeader& h, const std::vector<int64_t>& gids, uint8_t* codes,
                     float* levels, const std::vector<int64_t>& users, float* beta) {
  Fd f(path, O_RDONLY);
  const int64_t L = levels_of(h), rb = h.record_bytes();
  std::vector<uint8_t> rec(static_cast<size_t>(rb));
  RowSetHash hash;
  for (size_t k = 0; k < gids.size(); ++k) {
    if (gids[k] < 0 || gids[k] >= h.n_users + h.n_items) throw InputError(path, 0, "node " + std::to_string(gids[k]) + " outside the model");
    pread_all(f.fd, rec.data(), rec.size(), kHeaderBytes + gids[k] * rb, path);
    unpack_codes(rec.data(), static_cast<size_t>(h.dim), h.bits, codes + k * h.dim);
    e4m3_to_floats(rec.data() + (rb - L), levels + k * L, static_cast<size_t>(L));
    hash.add(gids[k], rec.data(), rec.size());
  }
  const size_t bb = static_cast<size_t>(h.beta_columns) * 4;
  for (size_t k = 0; k < users.size(); ++k) {
    if (users[k] < 0 || users[k] >= h.n_users) throw InputError(path, 0, "user " + std::to_string(users[k]) + " outside the model");
    pread_all(f.fd, beta + k * h.beta_columns, bb, beta_offset(h) + users[k] * h.beta_columns * 4, path);
    hash.add(beta_seed(h, users[k]), beta + k * h.beta_columns, bb);
  }
  return hash;
}

}  // namespace tkg
