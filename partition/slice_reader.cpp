#include "partition/slice_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

#include "comm/agreed_error.hpp"
#include "comm/communicator.hpp"
#include "common/checksum.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace tkg {

int64_t slice_start(const std::string& path, int64_t size, int r, int R) {
  if (r <= 0) return 0;
  if (r >= R) return size;
  return line_start_at_or_after(path, static_cast<int64_t>(static_cast<__int128>(size) * r / R), size);
}

SliceRead read_file_slice(Communicator& comm, const std::string& path, const std::string& split, TextFormat format,
                          const ReadOptions& opts) {
  const int r = comm.rank(), R = comm.size();
  int64_t size = 0, begin = 0, end = 0;
  std::string bytes;
  run_agreed(comm, [&] {
    size = file_size_checked(path);
    begin = slice_start(path, size, r, R);
    end = slice_start(path, size, r + 1, R);
    bytes = read_file_range(path, begin, end);
  });
  // Line numbers: the slice's first line is 1 + the newlines before it.
  const int64_t newlines = std::count(bytes.begin(), bytes.end(), '\n');
  const std::vector<int64_t> nl_before = comm.all_gather_one(newlines);
  int64_t first_line = 1;
  for (int k = 0; k < r; ++k) first_line += nl_before[k];
  const size_t bom = begin == 0 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  const char* b = bytes.data() + bom;
  const char* e = bytes.data() + bytes.size();
  if (format == TextFormat::kAuto) {
    const FormatEvidence mine = format_evidence(b, e, begin == 0);
    int64_t flags[3] = {mine.comma_or_tab ? 1 : 0, mine.all_two ? 0 : 1, mine.first_col_unique ? 0 : 1};
    comm.all_reduce_sum(flags, 3);
    FormatEvidence all;
    all.comma_or_tab = flags[0] > 0, all.all_two = flags[1] == 0, all.first_col_unique = flags[2] == 0;
    format = format_from_evidence(all);
  }
  SliceRead out;
  FileInfo mine;
  run_agreed(comm, [&] {
    out.lines = parse_interactions(b, e, TextSlice{path, first_line, begin == 0}, format, opts, &mine);
  });
  // The whole file's CRC-32 from the slices' (zlib's crc32_combine, in rank order).
  const uint32_t my_crc = crc32_bytes(bytes.data(), bytes.size());
  const int64_t my_len = static_cast<int64_t>(bytes.size());
  bytes = std::string();
  const std::vector<int64_t> crcs = comm.all_gather_one(static_cast<int64_t>(my_crc));
  const std::vector<int64_t> lens = comm.all_gather_one(my_len);
  uLong crc = static_cast<uLong>(crcs[0]);
  for (int k = 1; k < R; ++k) crc = crc32_combine64(crc, static_cast<uLong>(crcs[k]), static_cast<z_off64_t>(lens[k]));
  // The rest of the file's facts: sums, and the largest ids with the first line they are on.
  int64_t sums[3] = {mine.lines, mine.users_without_items, mine.header ? 1 : 0};
  comm.all_reduce_sum(sums, 3);
  const std::vector<int64_t> mu = comm.all_gather_one(mine.max_user), mul = comm.all_gather_one(mine.max_user_line);
  const std::vector<int64_t> mi = comm.all_gather_one(mine.max_item), mil = comm.all_gather_one(mine.max_item_line);
  FileInfo& fi = out.info;
  fi.path = path;
  fi.split = split;
  fi.format = format;
  fi.bytes = static_cast<uint64_t>(size);
  fi.crc32 = static_cast<uint32_t>(crc);
  fi.lines = sums[0];
  fi.users_without_items = sums[1];
  fi.header = sums[2] > 0;
  for (int k = 0; k < R; ++k) {  // strictly larger: the earliest rank (earliest line) wins ties
    if (mu[k] > fi.max_user) fi.max_user = mu[k], fi.max_user_line = mul[k];
    if (mi[k] > fi.max_item) fi.max_item = mi[k], fi.max_item_line = mil[k];
  }
  if (fi.lines == 0) throw AgreedError(InputError(path, 0, "no interactions found (empty file?)").what(), 2, 0);
  return out;
}

}  // namespace tkg
