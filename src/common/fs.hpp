// File-system helpers: whole-file reads, atomic writes (temp name + rename), peak memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace tkg {

// Reads a whole file. Throws InputError (naming the file) if it is missing or unreadable.
std::string read_file(const std::string& path);
// Size of a file; InputError (as read_file) when it is missing, a directory or unreadable.
int64_t file_size_checked(const std::string& path);
// The first line start at or after `offset` in a file of `size` bytes: 0 for offset 0, else the
// position after the first '\n' at or after offset - 1 (size if there is none). The byte ranges
// [line_start(size*r/R), line_start(size*(r+1)/R)) of r = 0..R-1 hold every line exactly once.
int64_t line_start_at_or_after(const std::string& path, int64_t offset, int64_t size);
// Bytes [begin, end) of a file; InputError on a short read.
std::string read_file_range(const std::string& path, int64_t begin, int64_t end);

// Writes `content` to `path` atomically: a temp file in the same directory, then rename.
void write_file_atomic(const std::string& path, const std::string& content);

// Calls `fill(tmp_dir)` to populate a fresh temp directory beside `dir`, then renames it to
// `dir`. If `dir` exists it is replaced only when `overwrite` is true (else InputError).
// On any exception the temp directory is removed and nothing at `dir` changes.
void write_dir_atomic(const std::string& dir, bool overwrite,
                      const std::function<void(const std::string& tmp_dir)>& fill);

// Removes a file or a directory tree (POSIX nftw, no symlink following); true when nothing is
// left. Not std::filesystem::remove_all: the PyTorch wheel's libtorch_cpu.so exports its own
// std::filesystem::remove_all symbols, which interpose ours in the LibTorch 2.x build, and the
// call crashed there (a jump to address 0) on a non-empty directory.
bool remove_tree(const std::string& path, std::string* error = nullptr);

// fsync of a file or a directory (a directory's fsync makes a rename in it durable). Throws
// InputError naming the path on failure.
void fsync_path(const std::string& path);

// Peak resident set size of this process in MiB (getrusage ru_maxrss).
double peak_rss_mb();

// Size of a file in bytes, or 0 when it does not exist.
int64_t file_size_or_zero(const std::string& path);

bool path_exists(const std::string& path);

}  // namespace tkg
