#include "comm/routing.hpp"

#include "comm/communicator.hpp"
#include "common/error.hpp"

namespace tkg {

Routed route_records(Communicator& comm, const std::vector<int64_t>& values, int64_t width,
                     const std::vector<int32_t>& dest) {
  const int P = comm.size();
  const int64_t n = static_cast<int64_t>(dest.size());
  TKG_CHECK(static_cast<int64_t>(values.size()) == n * width, "route_records: " << n << " records of width " << width);
  Routed r;
  r.send_counts.assign(P, 0);
  r.recv_counts.assign(P, 0);
  for (int64_t k = 0; k < n; ++k) {
    TKG_CHECK(dest[k] >= 0 && dest[k] < P, "route_records: destination rank " << dest[k]);
    ++r.send_counts[dest[k]];
  }
  std::vector<int64_t> fill(P, 0);
  for (int p = 1; p < P; ++p) fill[p] = fill[p - 1] + r.send_counts[p - 1];
  std::vector<int64_t> packed(static_cast<size_t>(n * width));
  r.slot.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    r.slot[k] = fill[dest[k]]++;
    for (int64_t c = 0; c < width; ++c) packed[r.slot[k] * width + c] = values[k * width + c];
  }
  std::vector<int64_t> ones(P, 1);
  comm.all_to_all_v(r.send_counts.data(), ones, r.recv_counts.data(), ones, DType::kInt64);
  int64_t n_recv = 0;
  for (int64_t c : r.recv_counts) n_recv += c;
  std::vector<int64_t> sc(P), rc(P);
  for (int p = 0; p < P; ++p) sc[p] = r.send_counts[p] * width, rc[p] = r.recv_counts[p] * width;
  r.received.resize(static_cast<size_t>(n_recv * width));
  comm.all_to_all_v(packed.data(), sc, r.received.data(), rc, DType::kInt64);
  return r;
}

std::vector<int64_t> request_reply(Communicator& comm, const std::vector<int64_t>& ids, const std::vector<int32_t>& dest,
                                   const std::function<int64_t(int, int64_t)>& answer) {
  Routed r = route_records(comm, ids, 1, dest);
  std::vector<int64_t> replies(r.received.size());
  for (int p = 0, k = 0; p < comm.size(); ++p)
    for (int64_t c = 0; c < r.recv_counts[p]; ++c, ++k) replies[k] = answer(p, r.received[k]);
  std::vector<int64_t> back(ids.size()), out(ids.size());
  comm.all_to_all_v(replies.data(), r.recv_counts, back.data(), r.send_counts, DType::kInt64);
  for (size_t k = 0; k < ids.size(); ++k) out[k] = back[r.slot[k]];
  return out;
}

}  // namespace tkg
