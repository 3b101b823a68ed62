// One rank's piece of a partitioned graph (DESIGN §4 "Ownership"); its file format is
// format/shard_file.hpp's.
//
// Local node index: owned nodes 0..n_own-1 (ascending global id, so owned users come first), then
// halo nodes n_own..n_own+n_halo-1, grouped by owner rank (ascending rank, ascending id within).
//
// Example: users u0,u1, items i0,i1 (global nodes 0,1,2,3), train (u0,i0) (u0,i1) (u1,i1),
// rank 0 owns {u0, i1}, rank 1 owns {u1, i0}. Rank 0:
//   owned = [0, 3]   halo = [2(i0), 1(u1)] -> sorted by owner then id: halo = [1, 2]
//   halo_offsets = [0, 0, 2]            (nothing from rank 0, two nodes from rank 1)
//   local ids: 0->u0 1->i1 2->u1 3->i0
//   indptr = [0, 2, 4]  indices = [3 1 | 0 2]   (u0: i0 i1; i1: u0 u1)
//   send_offsets = [0, 0, 2], send_list = [0, 1]  (rank 1's halo from rank 0 is {u0, i1})
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

// Interactions of the owned users in one split: CSR over owned users (local 0..n_own_users-1) of
// global item ids (0-based item ids, not node ids).
struct OwnedUserItems {
  std::vector<int64_t> indptr;  // [n_own_users + 1]
  std::vector<int64_t> items;   // [lines of owned users] global item ids, file order
};

struct Shard {
  uint64_t partition_id = 0;  // identifies the partition; equal in all shards and meta.json
  int32_t rank = 0;
  int32_t parts = 1;
  int64_t n_users = 0;        // global counts
  int64_t n_items = 0;
  int64_t n_own_users = 0;    // owned[0..n_own_users) are users

  std::vector<int64_t> owned;         // [n_own] global node ids, ascending
  std::vector<int64_t> halo;          // [n_halo] global node ids, grouped by owner rank
  std::vector<int64_t> halo_offsets;  // [parts + 1] halo block of rank p: [halo_offsets[p], halo_offsets[p+1])
  std::vector<int64_t> indptr;        // [n_own + 1] local CSR rows of owned nodes
  std::vector<int64_t> indices;       // [nnz] local node ids (owned first, then halo); one per train line
  std::vector<int64_t> degree;        // [n_own + n_halo] global train degree (duplicate lines count)
  std::vector<int64_t> send_offsets;  // [parts + 1] list for rank p: send_list[send_offsets[p] .. send_offsets[p+1])
  std::vector<int64_t> send_list;     // local owned indices, in the order of the receiver's halo block
  OwnedUserItems train, valid, test;

  int64_t n_own() const { return static_cast<int64_t>(owned.size()); }
  int64_t n_halo() const { return static_cast<int64_t>(halo.size()); }
  int64_t n_local() const { return n_own() + n_halo(); }
  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
  // Global node id of a local index (owned or halo).
  int64_t global_id(int64_t local) const { return local < n_own() ? owned[local] : halo[local - n_own()]; }
};

// Frees the shard's local CSR (indptr, indices: 8 bytes per local edge) once the layer graphs
// that are built from it exist (the trainer's); later reads of it fail (build_layer_graph checks).
void release_local_csr(Shard& s);

// Structural invariants: sizes, ascending owned ids, halo grouped by owner and disjoint from
// owned, CSR indptr monotone and indices in range, send lists in range. Throws InputError.
void validate_shard(const Shard& s, const std::string& name);

}  // namespace tkg
