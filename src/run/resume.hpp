// Resumable checkpoints of a training run (DESIGN §5): RUNDIR/checkpoints/epoch-NNNNNN/.
//
// Every rank writes what it owns, rows by global id, into shared .npy files: the table
// (X⁰ rows, or GNAQ levels) and its AdamW moments, GNAQ codes, β logits and their moments, and
// the kept best copy. When every rank has written, rank 0 syncs the files, writes manifest.json
// (loop state, the options that must match, each file's size and CRC-32) and renames the
// directory from its .tmp name: only a directory with a manifest is a checkpoint. The newest
// `keep` checkpoints are kept. Because rows are stored by global id, a run resumes on any P.
// No torch here.
#pragma once

#include <cstdint>
#include <string>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

class Communicator;
class Trainer;

// What the training loop needs to continue.
struct LoopState {
  int64_t epoch = 0;           // epochs completed
  double best = -1;            // best validation metric so far (−1: none)
  int64_t best_epoch = 0;
  double train_seconds = 0;    // training time so far
};

// Collective. Throws InputError (naming the file) when a write fails; the previous checkpoints
// are left intact, and the unfinished one is never mistaken for a checkpoint.
void save_resumable(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const LoopState& loop,
                    const std::string& root, int keep, Communicator& comm);

// Collective. `spec`: "auto" (the newest complete checkpoint under root, falling back to older
// ones when one is damaged: missing or truncated file, bad checksum) or a checkpoint directory.
// Returns false when there is none (auto). Throws InputError when a checkpoint belongs to another
// dataset or was written with options that must match but differ, or when `spec` names a damaged one.
bool resume_from(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const std::string& spec,
                 const std::string& root, LoopState* loop, Communicator& comm);

// Whether `dir` is a resumable checkpoint (its manifest says tkg-train-state).
bool is_train_state_checkpoint(const std::string& dir);

// train.init_from: the model of a resumable checkpoint (a checkpoints/epoch-N directory, or a run
// directory or its checkpoints/: the newest complete one), any P: its kept best copy if it has
// one, else its state; fp32 rows, or GNAQ codes + levels (quant.bits as in its run). Only the
// graph and the shapes must match. Rows verified by their hashes. Collective.
void load_model(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const std::string& from,
                Communicator& comm);

}  // namespace tkg
