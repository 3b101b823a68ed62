#include "format/npy_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace tkg {

namespace {

const char* npy_descr(NpyType t) { return t == NpyType::kFloat32 ? "'<f4'" : "'|u1'"; }

std::string npy_header(int64_t rows, int64_t cols, NpyType type) {
  std::string dict = std::string("{'descr': ") + npy_descr(type) + ", 'fortran_order': False, 'shape': (" +
                     std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  // magic(6) + version(2) + header_len(2) + dict + padding + '\n' is a multiple of 64.
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict += std::string(pad, ' ') + "\n";
  std::string h = "\x93NUMPY";
  h += '\x01';
  h += '\x00';
  uint16_t len = static_cast<uint16_t>(dict.size());
  h += static_cast<char>(len & 0xff);
  h += static_cast<char>(len >> 8);
  return h + dict;
}

// Open file with its header checked: fd, header bytes, rows.
struct NpyFile {
  int fd = -1;
  int64_t header = 0, rows = 0;
  ~NpyFile() {
    if (fd >= 0) ::close(fd);
  }
};

void open_npy(const std::string& path, int flags, int64_t cols, NpyType type, NpyFile& f) {
  f.fd = ::open(path.c_str(), flags);
  if (f.fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  char head[10];
  if (::pread(f.fd, head, 10, 0) != 10 || std::memcmp(head, "\x93NUMPY", 6) != 0) throw InputError(path, 0, "not a .npy file");
  f.header = 10 + (static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8));
  std::string dict(static_cast<size_t>(f.header - 10), '\0');
  if (::pread(f.fd, dict.data(), dict.size(), 10) != static_cast<ssize_t>(dict.size()))
    throw InputError(path, 0, "truncated .npy header");
  long long r = 0, c = 0;
  auto open_paren = dict.find('(');
  if (dict.find(npy_descr(type)) == std::string::npos || open_paren == std::string::npos ||
      std::sscanf(dict.c_str() + open_paren, "(%lld, %lld)", &r, &c) != 2)
    throw InputError(path, 0, std::string("expected a 2-d ") + (type == NpyType::kFloat32 ? "float32" : "uint8") + " .npy");
  if (c != cols) throw InputError(path, 0, "has " + std::to_string(c) + " columns, expected " + std::to_string(cols));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || static_cast<int64_t>(st.st_size) < f.header + r * c * static_cast<int64_t>(npy_type_size(type)))
    throw InputError(path, 0, "truncated .npy data");
  f.rows = r;
}

}  // namespace

size_t npy_type_size(NpyType t) { return t == NpyType::kFloat32 ? 4 : 1; }

void npy_create(const std::string& path, int64_t rows, int64_t cols, NpyType type) {
  std::string h = npy_header(rows, cols, type);
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) throw InputError(path, 0, std::string("cannot create: ") + std::strerror(errno));
  bool ok = ::write(fd, h.data(), h.size()) == static_cast<ssize_t>(h.size()) &&
            ::ftruncate(fd, static_cast<off_t>(h.size()) + rows * cols * static_cast<int64_t>(npy_type_size(type))) == 0;
  ::close(fd);
  if (!ok) throw InputError(path, 0, "cannot write .npy header (disk full?)");
}

void npy_write_rows(const std::string& path, int64_t cols, NpyType type, const std::vector<int64_t>& row_ids,
                    const void* data) {
  NpyFile f;
  open_npy(path, O_RDWR, cols, type, f);
  const size_t row_bytes = static_cast<size_t>(cols) * npy_type_size(type);
  const char* src = static_cast<const char*>(data);
  for (size_t k = 0; k < row_ids.size(); ++k) {
    if (row_ids[k] < 0 || row_ids[k] >= f.rows)
      throw InputError(path, 0, "row " + std::to_string(row_ids[k]) + " outside its " + std::to_string(f.rows) + " rows");
    off_t off = static_cast<off_t>(f.header + row_ids[k] * static_cast<int64_t>(row_bytes));
    if (::pwrite(f.fd, src + k * row_bytes, row_bytes, off) != static_cast<ssize_t>(row_bytes))
      throw InputError(path, 0, std::string("short write: ") + std::strerror(errno));
  }
}

void npy_read_rows(const std::string& path, int64_t cols, NpyType type, const std::vector<int64_t>& row_ids, void* out,
                   int64_t* rows_out) {
  NpyFile f;
  open_npy(path, O_RDONLY, cols, type, f);
  const size_t row_bytes = static_cast<size_t>(cols) * npy_type_size(type);
  char* dst = static_cast<char*>(out);
  for (size_t k = 0; k < row_ids.size(); ++k) {
    if (row_ids[k] < 0 || row_ids[k] >= f.rows)
      throw InputError(path, 0, "row " + std::to_string(row_ids[k]) + " outside its " + std::to_string(f.rows) + " rows");
    off_t off = static_cast<off_t>(f.header + row_ids[k] * static_cast<int64_t>(row_bytes));
    if (::pread(f.fd, dst + k * row_bytes, row_bytes, off) != static_cast<ssize_t>(row_bytes))
      throw InputError(path, 0, "truncated .npy data");
  }
  if (rows_out) *rows_out = f.rows;
}

void npy_create_f32(const std::string& path, int64_t rows, int64_t cols) { npy_create(path, rows, cols, NpyType::kFloat32); }

void npy_write_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, const float* data) {
  npy_write_rows(path, cols, NpyType::kFloat32, row_ids, data);
}

void npy_read_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, float* out,
                   int64_t* rows_out) {
  npy_read_rows(path, cols, NpyType::kFloat32, row_ids, out, rows_out);
}

std::vector<float> npy_read_f32(const std::string& path, int64_t* rows, int64_t* cols) {
  std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw InputError(path, 0, "not a .npy file");
  const size_t header = 10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
  std::string dict = bytes.substr(10, header - 10);
  if (dict.find("'<f4'") == std::string::npos) throw InputError(path, 0, "expected float32 .npy");
  auto open = dict.find("(");
  long long r = 0, c = 0;
  if (open == std::string::npos || std::sscanf(dict.c_str() + open, "(%lld, %lld)", &r, &c) != 2)
    throw InputError(path, 0, "cannot parse .npy shape");
  if (bytes.size() != header + static_cast<size_t>(r * c) * 4) throw InputError(path, 0, ".npy size mismatch");
  std::vector<float> out(static_cast<size_t>(r * c));
  std::memcpy(out.data(), bytes.data() + header, out.size() * 4);
  *rows = r;
  *cols = c;
  return out;
}

}  // namespace tkg
