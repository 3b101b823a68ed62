#include "train/item_directory.hpp"

#include "comm/communicator.hpp"
#include "comm/routing.hpp"
#include "common/error.hpp"

namespace tkg {

ItemDirectory::ItemDirectory(const Shard& shard, Communicator& comm) : comm_(comm), n_items_(shard.n_items) {
  const int P = comm.size(), me = comm.rank();
  owner_.assign(static_cast<size_t>(n_items_ > me ? (n_items_ - me + P - 1) / P : 0), -1);
  std::vector<int64_t> mine;
  std::vector<int32_t> dest;
  for (int64_t k = shard.n_own_users; k < shard.n_own(); ++k) {
    const int64_t item = shard.owned[k] - shard.n_users;
    mine.push_back(item);
    dest.push_back(static_cast<int32_t>(item % P));
  }
  request_reply(comm, mine, dest, [&](int src, int64_t item) {
    TKG_CHECK(item % P == me && owner_[item / P] == -1, "item " << item << " registered twice or at the wrong rank");
    owner_[item / P] = src;
    return int64_t{0};
  });
}

std::vector<int32_t> ItemDirectory::owners(const std::vector<int64_t>& items) {
  const int P = comm_.size(), me = comm_.rank();
  std::vector<int32_t> dest(items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    TKG_CHECK(items[k] >= 0 && items[k] < n_items_, "item id " << items[k] << " out of range");
    dest[k] = static_cast<int32_t>(items[k] % P);
  }
  std::vector<int64_t> r = request_reply(comm_, items, dest, [&](int, int64_t item) {
    const int32_t o = owner_[item / P];
    TKG_CHECK(item % P == me && o >= 0, "item " << item << " has no registered owner");
    return static_cast<int64_t>(o);
  });
  return std::vector<int32_t>(r.begin(), r.end());
}

}  // namespace tkg
