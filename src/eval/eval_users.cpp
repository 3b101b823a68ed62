#include "eval/eval_users.hpp"

#include "comm/communicator.hpp"
#include "common/rng.hpp"

namespace tkg {

EvalUsers select_eval_users(const Shard& shard, const OwnedUserItems& split, int64_t sample, uint64_t seed,
                            Communicator& comm) {
  EvalUsers out;
  std::vector<int64_t> eligible;
  for (int64_t u = 0; u < shard.n_own_users; ++u)
    if (split.indptr[u + 1] > split.indptr[u]) eligible.push_back(u);
  out.eligible = comm.all_reduce_sum(static_cast<int64_t>(eligible.size()));
  if (sample <= 0 || sample >= out.eligible) {
    out.local = std::move(eligible);
    out.global = out.eligible;
    return out;
  }
  // Keys are a bijection of the user id (splitmix64 is invertible), so they are distinct: the N
  // smallest are well defined. Bisect the threshold T = the N-th smallest key over all ranks.
  const uint64_t salt = splitmix64(seed ^ 0x6576616c75736572ULL);
  std::vector<uint64_t> key(eligible.size());
  for (size_t k = 0; k < eligible.size(); ++k) key[k] = splitmix64(salt ^ static_cast<uint64_t>(shard.owned[eligible[k]]));
  uint64_t lo = 0, hi = ~uint64_t{0};  // invariant: count(key <= hi) >= N; answer in [lo, hi]
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    int64_t c = 0;
    for (uint64_t x : key) c += x <= mid;
    if (comm.all_reduce_sum(c) >= sample) hi = mid;
    else lo = mid + 1;
  }
  for (size_t k = 0; k < eligible.size(); ++k)
    if (key[k] <= hi) out.local.push_back(eligible[k]);
  out.global = comm.all_reduce_sum(static_cast<int64_t>(out.local.size()));
  return out;
}

}  // namespace tkg
