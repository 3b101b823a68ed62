// Sparse request routing over all-to-all-v (buffers and peers only): send each record to the rank
// that can answer it, and send answers back. Every rank calls these, even with nothing to send.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace tkg {

class Communicator;

// Elements packed by destination rank (send_counts[p] of them for rank p, in rank order) go to
// their ranks; returns what arrives, packed by source rank, and its counts in *recv_counts.
// Collective: two all-to-all-v (the counts, then the elements). What the routines below use, and
// what callers with records of varying length call directly.
std::vector<int64_t> exchange_packed(Communicator& comm, const std::vector<int64_t>& packed,
                                     const std::vector<int64_t>& send_counts, std::vector<int64_t>* recv_counts);

struct Routed {
  std::vector<int64_t> send_counts;  // [P] records this rank sent to each peer
  std::vector<int64_t> recv_counts;  // [P] records received from each peer
  std::vector<int64_t> slot;         // [n] position of record k in the packed send order
  std::vector<int64_t> received;     // [Σ recv_counts · width] records received, packed by source rank
};

// Record k (values[k·width .. (k+1)·width)) goes to rank dest[k]; records to one rank keep their
// order. Collective: two all-to-all-v (the counts, then the records).
Routed route_records(Communicator& comm, const std::vector<int64_t>& values, int64_t width,
                     const std::vector<int32_t>& dest);

// One request/reply round: ids[k] goes to rank dest[k], which answers answer(source rank, id);
// returns the answers in the order of `ids`. Collective: three all-to-all-v.
std::vector<int64_t> request_reply(Communicator& comm, const std::vector<int64_t>& ids, const std::vector<int32_t>& dest,
                                   const std::function<int64_t(int source, int64_t id)>& answer);
// The same with `width` values per answer: answer(source, id, out) fills out[0..width); returns
// [ids.size() · width], answer k at k·width.
std::vector<int64_t> request_reply(Communicator& comm, const std::vector<int64_t>& ids, const std::vector<int32_t>& dest,
                                   int64_t width, const std::function<void(int source, int64_t id, int64_t* out)>& answer);

}  // namespace tkg
