// A split file read by the R processes of a distributed partition (tkg-partition under mpirun):
// each process reads one byte range, cut at line boundaries, and parses its lines with the
// file's own line numbers, so an error names the same file and line as the one-process reader.
#pragma once

#include <string>

#include "format/interactions_text.hpp"

namespace tkg {

class Communicator;

struct SliceRead {
  EdgeList lines;    // this process's lines, in file order
  FileInfo info;     // the whole file's, equal on every rank: bytes, crc32 (of all bytes), lines,
                     // header, users_without_items, format, the largest ids and their lines
};

// The start of process r's range of a file of `size` bytes read by R processes: the first line
// start at or after size * r / R (0 for r = 0, size for r = R). Reads at most a line.
int64_t slice_start(const std::string& path, int64_t size, int r, int R);

// Collective (every rank, in the same order of files). format kAuto: detected from every
// process's slice (format_evidence combined; a first column that repeats only across two
// slices is not seen, so pass the format when in doubt). Errors end every rank alike (AgreedError).
// Duplicates are not dropped here (the node owners drop them: they see all of a user's lines).
SliceRead read_file_slice(Communicator& comm, const std::string& path, const std::string& split, TextFormat format,
                          const ReadOptions& opts);

}  // namespace tkg
