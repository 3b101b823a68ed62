#include "train/negative_fetch.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>

#include "comm/communicator.hpp"
#include "comm/routing.hpp"
#include "common/error.hpp"

namespace tkg {

NegativeFetch::NegativeFetch(const Shard& shard, const LocalIndex& local, Communicator& comm)
    : shard_(shard), local_(local), comm_(comm), directory_(shard, comm) {}

NegativeRows NegativeFetch::plan(const std::vector<int64_t>& negatives, const at::Device& device) {
  TrafficScope scope(comm_, Traffic::kNegatives);
  CollectiveSite site(comm_, "negative_fetch.plan");
  const int64_t n = static_cast<int64_t>(negatives.size()), n_local = shard_.n_local();
  // Local rows of owned and halo negatives; the others are remote.
  std::vector<int64_t> row(static_cast<size_t>(n));
  at::parallel_for(0, n, 8192, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) row[k] = local_(shard_.n_users + negatives[k]);
  });
  std::vector<int64_t> remote;  // distinct remote items, ascending
  for (int64_t k = 0; k < n; ++k)
    if (row[k] < 0) remote.push_back(negatives[k]);
  std::sort(remote.begin(), remote.end());
  std::vector<int64_t> count;  // [remote] lines that drew it
  {
    size_t w = 0;
    for (size_t r = 0; r < remote.size(); ++r) {
      if (w > 0 && remote[w - 1] == remote[r]) {
        ++count.back();
        continue;
      }
      remote[w++] = remote[r];
      count.push_back(1);
    }
    remote.resize(w);
  }
  std::vector<int32_t> owner = directory_.owners(remote);
  // Requests to the owners: (item id, count) records, grouped by owner.
  std::vector<int64_t> records(remote.size() * 2);
  for (size_t r = 0; r < remote.size(); ++r) records[2 * r] = remote[r], records[2 * r + 1] = count[r];
  Routed req = route_records(comm_, records, 2, owner);
  // Owner side: the owned rows each peer asked for, in the order it asked; the counts for λ.
  std::vector<int64_t> send_index(req.received.size() / 2);
  std::vector<float> owner_counts(static_cast<size_t>(shard_.n_own()), 0.0f);
  bool any_count = false;
  for (size_t k = 0; k < send_index.size(); ++k) {
    const int64_t item = req.received[2 * k], c = req.received[2 * k + 1];
    const int64_t loc = local_.owned(shard_.n_users + item);
    TKG_CHECK(loc >= 0, "rank " << comm_.rank() << " was asked for item " << item << ", which it does not own");
    send_index[k] = loc;
    owner_counts[loc] += static_cast<float>(c);
    any_count = true;
  }
  NegativeRows out;
  out.n_fetched = static_cast<int64_t>(remote.size());
  // Requester side: remote item r arrives at row n_local + slot[r] (rows packed by owner, in
  // the order of the requests).
  at::parallel_for(0, n, 8192, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      if (row[k] >= 0) continue;
      const size_t r = static_cast<size_t>(std::lower_bound(remote.begin(), remote.end(), negatives[k]) - remote.begin());
      row[k] = n_local + req.slot[r];
    }
  });
  // 32-bit rows where the table allows (it always does below 2^31 local + fetched rows).
  if (n_local + out.n_fetched <= std::numeric_limits<int32_t>::max())
    out.row = at::from_blob(row.data(), {n}, at::kLong).to(at::kInt).to(device, false, /*copy=*/true);
  else
    out.row = at::from_blob(row.data(), {n}, at::kLong).to(device, false, /*copy=*/true);
  // Checked on the host copy, then uploaded (no device round trip in the step for the check).
  out.fetch.send_index = at::from_blob(send_index.data(), {static_cast<int64_t>(send_index.size())}, at::kLong);
  out.fetch.send_rows = req.recv_counts;
  out.fetch.recv_rows = req.send_counts;
  out.fetch.n_own = shard_.n_own();
  out.fetch.n_recv = out.n_fetched;
  out.fetch.traffic = Traffic::kNegatives;
  out.fetch.name = "negative_fetch";
  validate_plan(out.fetch, comm_.size(), comm_.rank());
  out.fetch.send_index = out.fetch.send_index.to(device, false, /*copy=*/true);
  if (any_count)
    out.owner_counts = at::from_blob(owner_counts.data(), {shard_.n_own()}, at::kFloat).to(device, false, /*copy=*/true);
  return out;
}

}  // namespace tkg
