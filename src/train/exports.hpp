// Exported results of a run (DESIGN §7), written collectively: RUNDIR/embeddings/{users,items}.npy
// (final embeddings, rows by original id) and RUNDIR/topk.tsv. No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/topk.hpp"
#include "shard/shard.hpp"

namespace tkg {

class Communicator;
class Trainer;

// Final embeddings of every rank's owned rows into users.npy / items.npy (temp names, renamed
// when every rank has written). Collective (the forward pass included).
void export_embeddings(const Shard& s, Trainer& tr, const std::string& dir, Communicator& comm);

// "user<TAB>item1,item2,..." for the owned users `users` (local indices; row r of `acc` is
// users[r]), ascending user id over all ranks. Collective.
void export_topk(const Shard& s, const std::vector<int64_t>& users, const TopKAccumulator& acc, int64_t k,
                 const std::string& path, Communicator& comm);

}  // namespace tkg
