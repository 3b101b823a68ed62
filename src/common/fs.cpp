#include "common/fs.hpp"

#include <algorithm>
#include <vector>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace fs = std::filesystem;

namespace tkg {

int64_t file_size_checked(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, 0, "file does not exist");
  if (fs::is_directory(path, ec)) throw InputError(path, 0, "expected a file, found a directory");
  const auto size = fs::file_size(path, ec);
  if (ec) throw InputError(path, 0, "cannot determine file size: " + ec.message());
  return static_cast<int64_t>(size);
}

int64_t line_start_at_or_after(const std::string& path, int64_t offset, int64_t size) {
  if (offset <= 0) return 0;
  if (offset >= size) return size;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, std::string("cannot open file: ") + std::strerror(errno));
  in.seekg(offset - 1, std::ios::beg);
  std::vector<char> buf(1 << 16);
  int64_t pos = offset - 1;
  while (pos < size) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const int64_t got = in.gcount();
    if (got <= 0) break;
    const char* nl = static_cast<const char*>(std::memchr(buf.data(), '\n', static_cast<size_t>(got)));
    if (nl) return pos + (nl - buf.data()) + 1;
    pos += got;
  }
  return size;
}

std::string read_file_range(const std::string& path, int64_t begin, int64_t end) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, std::string("cannot open file: ") + std::strerror(errno));
  std::string data(static_cast<size_t>(std::max<int64_t>(0, end - begin)), '\0');
  in.seekg(begin, std::ios::beg);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.gcount() != static_cast<std::streamsize>(data.size()))
    throw InputError(path, 0, "short read at byte " + std::to_string(begin));
  return data;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, 0, "file does not exist");
  if (fs::is_directory(path, ec)) throw InputError(path, 0, "expected a file, found a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, std::string("cannot open file: ") + std::strerror(errno));
  std::string data;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) throw InputError(path, 0, "cannot determine file size");
  data.resize(static_cast<size_t>(size));
  in.seekg(0, std::ios::beg);
  in.read(data.data(), size);
  if (in.gcount() != size) throw InputError(path, 0, "short read");
  return data;
}

static std::string unique_suffix() {
  static int counter = 0;
  std::ostringstream s;
  s << ".tmp-" << ::getpid() << "-" << counter++;
  return s.str();
}

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

}  // namespace

bool remove_tree(const std::string& path, std::string* error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return true;  // nothing there
  if (::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0) return true;
  if (error) *error = std::strerror(errno);
  return false;
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw InputError(path, 0, std::string("cannot open to sync: ") + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) throw InputError(path, 0, std::string("fsync failed: ") + std::strerror(err));
}

void write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + unique_suffix();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path, 0, std::string("cannot create file: ") + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw InputError(path, 0, "write failed (disk full?)");
    }
  }
  try {
    fsync_path(tmp);  // the data is on disk before the name points to it
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    throw InputError(path, 0, std::string("cannot rename temp file into place: ") + std::strerror(err));
  }
  fsync_path(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string());  // the rename too
}

void write_dir_atomic(const std::string& dir, bool overwrite,
                      const std::function<void(const std::string&)>& fill) {
  fs::path target = fs::path(dir);
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  std::error_code ec;
  if (fs::exists(target, ec) && !overwrite)
    throw InputError(target.string(), 0, "output directory exists (pass --force to replace it)");
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), ec);
  fs::path tmp = target.string() + unique_suffix();
  remove_tree(tmp.string());
  if (!fs::create_directory(tmp, ec))
    throw InputError(tmp.string(), 0, "cannot create temp directory: " + ec.message());
  try {
    fill(tmp.string());
  } catch (...) {
    remove_tree(tmp.string());
    throw;
  }
  fs::path old;
  if (fs::exists(target, ec)) {
    old = target.string() + unique_suffix() + ".old";
    fs::rename(target, old, ec);
    if (ec) {
      remove_tree(tmp.string());
      throw InputError(target.string(), 0, "cannot move the old directory aside");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::string why = ec.message();
    remove_tree(tmp.string());
    if (!old.empty()) fs::rename(old, target, ec);
    throw InputError(target.string(), 0, "cannot rename temp directory into place: " + why);
  }
  if (!old.empty()) remove_tree(old.string());
}

double peak_rss_mb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

int64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

}  // namespace tkg
