#include "train/outputs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_writer.hpp"

namespace tkg {

namespace {

std::string npy_header(int64_t rows, int64_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
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

}  // namespace

void npy_create_f32(const std::string& path, int64_t rows, int64_t cols) {
  std::string h = npy_header(rows, cols);
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) throw InputError(path, 0, std::string("cannot create: ") + std::strerror(errno));
  bool ok = ::write(fd, h.data(), h.size()) == static_cast<ssize_t>(h.size()) &&
            ::ftruncate(fd, static_cast<off_t>(h.size()) + rows * cols * 4) == 0;
  ::close(fd);
  if (!ok) throw InputError(path, 0, "cannot write .npy header (disk full?)");
}

void npy_write_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, const float* data) {
  int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  char head[10];
  if (::pread(fd, head, 10, 0) != 10) {
    ::close(fd);
    throw InputError(path, 0, "not a .npy file");
  }
  const int64_t header = 10 + (static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8));
  const size_t row_bytes = static_cast<size_t>(cols) * 4;
  for (size_t k = 0; k < row_ids.size(); ++k) {
    off_t off = static_cast<off_t>(header + row_ids[k] * static_cast<int64_t>(row_bytes));
    if (::pwrite(fd, data + k * cols, row_bytes, off) != static_cast<ssize_t>(row_bytes)) {
      ::close(fd);
      throw InputError(path, 0, "short write");
    }
  }
  ::close(fd);
}

void npy_read_rows(const std::string& path, int64_t cols, const std::vector<int64_t>& row_ids, float* out,
                   int64_t* rows_out) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
  char head[10];
  if (::pread(fd, head, 10, 0) != 10 || std::memcmp(head, "\x93NUMPY", 6) != 0) {
    ::close(fd);
    throw InputError(path, 0, "not a .npy file");
  }
  const int64_t header = 10 + (static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8));
  std::string dict(static_cast<size_t>(header - 10), '\0');
  if (::pread(fd, dict.data(), dict.size(), 10) != static_cast<ssize_t>(dict.size())) {
    ::close(fd);
    throw InputError(path, 0, "truncated .npy header");
  }
  long long r = 0, c = 0;
  auto open_paren = dict.find('(');
  if (dict.find("'<f4'") == std::string::npos || open_paren == std::string::npos ||
      std::sscanf(dict.c_str() + open_paren, "(%lld, %lld)", &r, &c) != 2) {
    ::close(fd);
    throw InputError(path, 0, "expected a 2-d float32 .npy");
  }
  if (c != cols) {
    ::close(fd);
    throw InputError(path, 0, "has " + std::to_string(c) + " columns, expected " + std::to_string(cols));
  }
  const size_t row_bytes = static_cast<size_t>(cols) * 4;
  for (size_t k = 0; k < row_ids.size(); ++k) {
    if (row_ids[k] < 0 || row_ids[k] >= r) {
      ::close(fd);
      throw InputError(path, 0, "row " + std::to_string(row_ids[k]) + " outside its " + std::to_string(r) + " rows");
    }
    off_t off = static_cast<off_t>(header + row_ids[k] * static_cast<int64_t>(row_bytes));
    if (::pread(fd, out + k * static_cast<size_t>(cols), row_bytes, off) != static_cast<ssize_t>(row_bytes)) {
      ::close(fd);
      throw InputError(path, 0, "truncated .npy data");
    }
  }
  ::close(fd);
  if (rows_out) *rows_out = r;
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

MetricsLog::MetricsLog(const std::string& csv_path, const std::string& jsonl_path)
    : csv_(csv_path, std::ios::trunc), jsonl_(jsonl_path, std::ios::trunc) {
  if (!csv_) throw InputError(csv_path, 0, "cannot create file");
  if (!jsonl_) throw InputError(jsonl_path, 0, "cannot create file");
}

void MetricsLog::add(const std::vector<std::pair<std::string, std::string>>& strings,
                     const std::vector<std::pair<std::string, double>>& numbers) {
  if (!header_written_) {
    bool first = true;
    for (auto& [k, v] : strings) csv_ << (first ? "" : ",") << k, first = false;
    for (auto& [k, v] : numbers) csv_ << (first ? "" : ",") << k, first = false;
    csv_ << "\n";
    header_written_ = true;
  }
  bool first = true;
  std::ostringstream js;
  js << "{";
  auto num = [](double v) {
    char buf[32];
    if (!std::isfinite(v)) return std::string("null");
    std::snprintf(buf, sizeof buf, "%.8g", v);
    return std::string(buf);
  };
  for (auto& [k, v] : strings) {
    csv_ << (first ? "" : ",") << v;
    js << (first ? "" : ", ") << "\"" << json_escape(k) << "\": \"" << json_escape(v) << "\"";
    first = false;
  }
  for (auto& [k, v] : numbers) {
    csv_ << (first ? "" : ",") << num(v);
    js << (first ? "" : ", ") << "\"" << json_escape(k) << "\": " << num(v);
    first = false;
  }
  csv_ << "\n";
  js << "}\n";
  jsonl_ << js.str();
  csv_.flush();
  jsonl_.flush();
}

}  // namespace tkg
