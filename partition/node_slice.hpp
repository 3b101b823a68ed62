// The train graph spread over the R processes of a distributed partition: process r holds the
// nodes of one contiguous range of global ids (users 0..n_users-1, then items), each with its
// train neighbours and, for users, its valid and test items. No process holds more than its
// range's rows; built from the slices the processes read (partition/slice_reader).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "graph/dataset.hpp"

namespace tkg {

class Communicator;

// Contiguous ranges of node ids over R processes: blocks of ceil(n / R) ids.
struct NodeRanges {
  int64_t n_nodes = 0;
  int R = 1;
  int64_t block() const { return std::max<int64_t>(1, (n_nodes + R - 1) / R); }
  int64_t first(int r) const { return std::min<int64_t>(n_nodes, static_cast<int64_t>(r) * block()); }
  int64_t count(int r) const { return first(r + 1) - first(r); }
  int owner(int64_t v) const { return static_cast<int>(v / block()); }
};

// Rows over this process's nodes (local k = global first + k), values in the global order of
// the lines they came from (file order).
struct LocalRows {
  std::vector<int64_t> indptr;  // [count + 1]
  std::vector<int64_t> values;  // [indptr.back()]
  int64_t size(int64_t k) const { return indptr[k + 1] - indptr[k]; }
};

struct NodeSlice {
  NodeRanges ranges;
  int64_t n_users = 0, n_items = 0;
  int64_t first = 0, count = 0;  // this process's nodes: [first, first + count)
  // Train neighbours with multiplicity (one per train line): a user's are item ids (not node
  // ids) in file order; an item's are user ids, ascending.
  LocalRows train;
  LocalRows valid, test;  // items of local users (file order); empty rows for items
  int64_t degree(int64_t k) const { return train.size(k); }
  bool is_user(int64_t k) const { return first + k < n_users; }
};

// The values of (key, value) pairs, sent to the owners of their keys (global node ids: key +
// key_offset) and gathered there into rows, in global line order (sender rank, then the
// sender's order). Collective; batches of at most `batch` pairs per round (rounds agreed).
LocalRows gather_to_owners(Communicator& comm, const NodeRanges& ranges, const std::vector<int64_t>& keys,
                           int64_t key_offset, const std::vector<int64_t>& values, int64_t batch = int64_t{1} << 23);

// Moves every process's train/valid/test lines to the owners of their nodes (the EdgeLists are
// emptied). With drop_duplicates, repeated (user, item) lines of a split are dropped, the first
// kept, as the one-process reader does; dropped[s] counts them per split (train, valid, test; sums
// over all processes, equal on every rank).
NodeSlice build_node_slice(Communicator& comm, int64_t n_users, int64_t n_items, EdgeList& train, EdgeList& valid,
                           EdgeList& test, bool drop_duplicates, int64_t dropped[3]);

}  // namespace tkg
