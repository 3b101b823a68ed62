#include "partition/node_slice.hpp"

#include <unordered_set>

#include "comm/communicator.hpp"
#include "comm/routing.hpp"
#include "common/error.hpp"

namespace tkg {

LocalRows gather_to_owners(Communicator& comm, const NodeRanges& ranges, const std::vector<int64_t>& keys,
                           int64_t key_offset, const std::vector<int64_t>& values, int64_t batch) {
  const int r = comm.rank(), R = comm.size();
  TKG_CHECK(keys.size() == values.size(), "keys and values differ in size");
  const int64_t n = static_cast<int64_t>(keys.size());
  // Every rank runs the same number of rounds: the largest of them all (never its own count).
  const int64_t rounds = static_cast<int64_t>(comm.all_reduce_max(static_cast<double>((n + batch - 1) / batch)));
  // Received (local node, value) pairs, kept per sender so that the rows come out in global order.
  std::vector<std::vector<int64_t>> from(static_cast<size_t>(R));
  std::vector<int64_t> send, recv, send_counts(static_cast<size_t>(R)), fill(static_cast<size_t>(R));
  for (int64_t round = 0; round < rounds; ++round) {
    const int64_t lo = std::min(n, round * batch), hi = std::min(n, lo + batch);
    std::fill(send_counts.begin(), send_counts.end(), 0);
    for (int64_t k = lo; k < hi; ++k) send_counts[ranges.owner(keys[k] + key_offset)] += 2;
    int64_t total = 0;
    for (int p = 0; p < R; ++p) fill[p] = total, total += send_counts[p];
    send.resize(static_cast<size_t>(total));
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t v = keys[k] + key_offset;
      const int p = ranges.owner(v);
      send[fill[p]++] = v - ranges.first(p);
      send[fill[p]++] = values[k];
    }
    std::vector<int64_t> recv_counts;
    recv = exchange_packed(comm, send, send_counts, &recv_counts);
    int64_t off = 0;
    for (int p = 0; p < R; ++p) {
      from[p].insert(from[p].end(), recv.begin() + off, recv.begin() + off + recv_counts[p]);
      off += recv_counts[p];
    }
  }
  send = std::vector<int64_t>();
  recv = std::vector<int64_t>();
  // Counting sort by local node, senders in rank order: the rows are in global line order.
  const int64_t count = ranges.count(r);
  LocalRows out;
  out.indptr.assign(static_cast<size_t>(count) + 1, 0);
  for (const auto& f : from)
    for (size_t k = 0; k < f.size(); k += 2) ++out.indptr[f[k] + 1];
  for (int64_t k = 0; k < count; ++k) out.indptr[k + 1] += out.indptr[k];
  out.values.resize(static_cast<size_t>(out.indptr.back()));
  std::vector<int64_t> pos(out.indptr.begin(), out.indptr.end() - 1);
  for (auto& f : from) {
    for (size_t k = 0; k < f.size(); k += 2) out.values[pos[f[k]]++] = f[k + 1];
    f = std::vector<int64_t>();
  }
  return out;
}

namespace {

// Drops repeated values of each row, keeping the first of each (in place); returns how many.
int64_t drop_repeats_keep_first(LocalRows& rows) {
  int64_t out = 0, dropped = 0;
  std::unordered_set<int64_t> seen;
  const int64_t count = static_cast<int64_t>(rows.indptr.size()) - 1;
  int64_t begin = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t end = rows.indptr[k + 1];
    seen.clear();
    for (int64_t j = begin; j < end; ++j)
      if (seen.insert(rows.values[j]).second) rows.values[out++] = rows.values[j];
      else ++dropped;
    begin = end;
    rows.indptr[k + 1] = out;
  }
  rows.values.resize(static_cast<size_t>(out));
  return dropped;
}

void free_edges(EdgeList& el) { el = EdgeList(); }

}  // namespace

NodeSlice build_node_slice(Communicator& comm, int64_t n_users, int64_t n_items, EdgeList& train, EdgeList& valid,
                           EdgeList& test, bool drop_duplicates, int64_t dropped[3]) {
  NodeSlice s;
  s.ranges = NodeRanges{n_users + n_items, comm.size()};
  s.n_users = n_users, s.n_items = n_items;
  s.first = s.ranges.first(comm.rank());
  s.count = s.ranges.count(comm.rank());
  // Users' rows: their items in file order; items' rows: their users (sorted below).
  LocalRows user_side = gather_to_owners(comm, s.ranges, train.user, 0, train.item);
  LocalRows item_side = gather_to_owners(comm, s.ranges, train.item, n_users, train.user);
  free_edges(train);
  s.valid = gather_to_owners(comm, s.ranges, valid.user, 0, valid.item);
  free_edges(valid);
  s.test = gather_to_owners(comm, s.ranges, test.user, 0, test.item);
  free_edges(test);
  // One row per local node: a local node is a user or an item, so one of the two sides is empty.
  s.train.indptr.assign(static_cast<size_t>(s.count) + 1, 0);
  s.train.values.resize(user_side.values.size() + item_side.values.size());
  int64_t out = 0;
  for (int64_t k = 0; k < s.count; ++k) {
    const LocalRows& side = s.is_user(k) ? user_side : item_side;
    const auto b = side.values.begin() + side.indptr[k], e = side.values.begin() + side.indptr[k + 1];
    std::copy(b, e, s.train.values.begin() + out);
    if (!s.is_user(k)) std::sort(s.train.values.begin() + out, s.train.values.begin() + out + (e - b));
    out += e - b;
    s.train.indptr[k + 1] = out;
  }
  user_side = LocalRows();
  item_side = LocalRows();
  int64_t d[3] = {0, 0, 0};
  if (drop_duplicates) {
    // A repeated (user, item) line repeats in the user's row and in the item's: drop it from both
    // (the train count is the users' side).
    int64_t user_dups = 0, item_out = 0;
    LocalRows& t = s.train;
    {
      // Users: keep the first of each item (file order). Items: their sorted rows made distinct.
      int64_t w = 0, begin = 0;
      std::unordered_set<int64_t> seen;
      for (int64_t k = 0; k < s.count; ++k) {
        const int64_t end = t.indptr[k + 1];
        if (s.is_user(k)) {
          seen.clear();
          for (int64_t j = begin; j < end; ++j)
            if (seen.insert(t.values[j]).second) t.values[w++] = t.values[j];
            else ++user_dups;
        } else {
          for (int64_t j = begin; j < end; ++j)
            if (j == begin || t.values[j] != t.values[j - 1]) t.values[w++] = t.values[j];
            else ++item_out;
        }
        begin = end;
        t.indptr[k + 1] = w;
      }
      t.values.resize(static_cast<size_t>(w));
    }
    d[0] = user_dups;
    d[1] = drop_repeats_keep_first(s.valid);
    d[2] = drop_repeats_keep_first(s.test);
  }
  comm.all_reduce_sum(d, 3);
  for (int k = 0; k < 3; ++k) dropped[k] = d[k];
  return s;
}

}  // namespace tkg
