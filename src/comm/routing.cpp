#include "comm/routing.hpp"

#include "comm/communicator.hpp"
#include "common/error.hpp"

namespace tkg {

std::vector<int64_t> exchange_packed(Communicator& comm, const std::vector<int64_t>& packed,
                                     const std::vector<int64_t>& send_counts, std::vector<int64_t>* recv_counts) {
  const int P = comm.size();
  std::vector<int64_t> ones(P, 1), rc(P, 0);
  comm.all_to_all_v(send_counts.data(), ones, rc.data(), ones, DType::kInt64);
  int64_t n = 0;
  for (int64_t c : rc) n += c;
  std::vector<int64_t> received(static_cast<size_t>(n));
  comm.all_to_all_v(packed.data(), send_counts, received.data(), rc, DType::kInt64);
  if (recv_counts) *recv_counts = std::move(rc);
  return received;
}

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
  std::vector<int64_t> sc(P);
  for (int p = 0; p < P; ++p) sc[p] = r.send_counts[p] * width;
  r.received = exchange_packed(comm, packed, sc, &r.recv_counts);
  for (int64_t& c : r.recv_counts) c /= width;
  return r;
}

std::vector<int64_t> request_reply(Communicator& comm, const std::vector<int64_t>& ids, const std::vector<int32_t>& dest,
                                   int64_t width, const std::function<void(int, int64_t, int64_t*)>& answer) {
  Routed r = route_records(comm, ids, 1, dest);
  std::vector<int64_t> replies(r.received.size() * width);
  for (int p = 0, k = 0; p < comm.size(); ++p)
    for (int64_t c = 0; c < r.recv_counts[p]; ++c, ++k) answer(p, r.received[k], replies.data() + k * width);
  std::vector<int64_t> sc(r.recv_counts), rc(r.send_counts);
  for (int64_t& c : sc) c *= width;
  for (int64_t& c : rc) c *= width;
  std::vector<int64_t> back(ids.size() * width), out(ids.size() * width);
  comm.all_to_all_v(replies.data(), sc, back.data(), rc, DType::kInt64);
  for (size_t k = 0; k < ids.size(); ++k)
    for (int64_t c = 0; c < width; ++c) out[k * width + c] = back[r.slot[k] * width + c];
  return out;
}

std::vector<int64_t> request_reply(Communicator& comm, const std::vector<int64_t>& ids, const std::vector<int32_t>& dest,
                                   const std::function<int64_t(int, int64_t)>& answer) {
  return request_reply(comm, ids, dest, 1, [&](int source, int64_t id, int64_t* out) { *out = answer(source, id); });
}

}  // namespace tkg
