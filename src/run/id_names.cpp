#include "run/id_names.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "comm/communicator.hpp"
#include "comm/routing.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace tkg {

namespace {

// The lines of `path` that start in [lo, hi) (common/fs: line_start_at_or_after), without their '\n'.
std::vector<std::string> lines_starting_in(const std::string& path, int64_t lo, int64_t hi, int64_t size) {
  std::vector<std::string> out;
  const int64_t b = line_start_at_or_after(path, lo, size), e = line_start_at_or_after(path, hi, size);
  if (b >= e) return out;
  const std::string text = read_file_range(path, b, e);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();  // a last line without '\n'
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

DistributedNames::DistributedNames(const std::string& path, int64_t n_ids, Communicator& comm)
    : comm_(comm), rank_(comm.rank()), mapped_(!path.empty()) {
  const int P = comm.size();
  first_.assign(static_cast<size_t>(P + 1), 0);
  if (!mapped_) {
    for (int r = 0; r <= P; ++r) first_[r] = n_ids * r / P;
    return;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, 0, std::string("cannot read the id map: ") + std::strerror(errno));
  const int64_t size = static_cast<int64_t>(st.st_size);
  std::string error;
  try {
    names_ = lines_starting_in(path, size * rank_ / P, size * (rank_ + 1) / P, size);
  } catch (const std::exception& e) {
    error = e.what();
  }
  CollectiveSite site(comm, "id_names.ranges");
  const std::vector<int64_t> counts = comm.all_gather_one(error.empty() ? static_cast<int64_t>(names_.size()) : -1);
  for (int r = 0; r < P; ++r) {
    if (counts[r] < 0) throw InputError(path, 0, "rank " + std::to_string(r) + " could not read its part of the id map" +
                                                     (error.empty() ? "" : ": " + error));
    first_[r + 1] = first_[r] + counts[r];
  }
  if (first_[P] != n_ids)
    throw InputError(path, 0, "id map has " + std::to_string(first_[P]) + " lines for " + std::to_string(n_ids) + " ids");
}

int DistributedNames::holder(int64_t id) const {
  TKG_CHECK(id >= 0 && id < first_.back(), "id " << id << " outside the id map's " << first_.back() << " ids");
  return static_cast<int>(std::upper_bound(first_.begin(), first_.end(), id) - first_.begin()) - 1;
}

std::string DistributedNames::local_name(int64_t id) const {
  if (!mapped_) return std::to_string(id);
  TKG_CHECK(id >= first_id() && id < end_id(), "id " << id << " is not held by rank " << rank_);
  return names_[static_cast<size_t>(id - first_id())];
}

std::vector<std::string> DistributedNames::lookup(const std::vector<int64_t>& ids) {
  std::vector<std::string> out(ids.size());
  if (!mapped_) {
    for (size_t k = 0; k < ids.size(); ++k) out[k] = std::to_string(ids[k]);
    return out;  // every rank takes this branch alike (the map is the job's, not the rank's)
  }
  CollectiveSite site(comm_, "id_names.lookup");
  const int P = comm_.size();
  std::vector<int32_t> dest(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) dest[k] = holder(ids[k]);
  Routed req = route_records(comm_, ids, 1, dest);
  // Answers: per request its name's length, then the bytes, in request order per source.
  std::vector<int64_t> len(req.received.size());
  std::string bytes;
  std::vector<int64_t> byte_counts(static_cast<size_t>(P), 0);
  for (int p = 0, k = 0; p < P; ++p)
    for (int64_t c = 0; c < req.recv_counts[p]; ++c, ++k) {
      const std::string& nm = names_[static_cast<size_t>(req.received[k] - first_id())];
      len[k] = static_cast<int64_t>(nm.size());
      bytes += nm;
      byte_counts[p] += len[k];
    }
  std::vector<int64_t> back_len(ids.size());
  comm_.all_to_all_v(len.data(), req.recv_counts, back_len.data(), req.send_counts, DType::kInt64);
  std::vector<int64_t> recv_bytes(static_cast<size_t>(P), 0);
  for (int p = 0, k = 0; p < P; ++p)
    for (int64_t c = 0; c < req.send_counts[p]; ++c, ++k) recv_bytes[p] += back_len[k];
  int64_t total = 0;
  for (int64_t b : recv_bytes) total += b;
  std::string got(static_cast<size_t>(total), '\0');
  comm_.all_to_all_v(bytes.data(), byte_counts, got.data(), recv_bytes, DType::kUInt8);
  // Packed slot s (by destination, in request order) starts at the sum of the lengths before it.
  std::vector<int64_t> start(back_len.size() + 1, 0);
  for (size_t s = 0; s < back_len.size(); ++s) start[s + 1] = start[s] + back_len[s];
  for (size_t k = 0; k < ids.size(); ++k) {
    const int64_t s = req.slot[k];
    out[k] = got.substr(static_cast<size_t>(start[s]), static_cast<size_t>(back_len[s]));
  }
  return out;
}

}  // namespace tkg
