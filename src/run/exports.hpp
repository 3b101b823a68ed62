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
// id_map_dir (remapped ids): its user_ids.txt / item_ids.txt are copied beside the .npy files.
void export_embeddings(const Shard& s, Trainer& tr, const std::string& dir, Communicator& comm,
                       const std::string& id_map_dir = "");

// "user<TAB>item1,item2,..." for the owned users `users` (local indices; row r of `acc` is
// users[r]), ascending user id over all ranks. Collective.
// id_map_dir (remapped ids): users and items are written with their original ids.
void export_topk(const Shard& s, const std::vector<int64_t>& users, const TopKAccumulator& acc, int64_t k,
                 const std::string& path, Communicator& comm, const std::string& id_map_dir = "");

}  // namespace tkg
