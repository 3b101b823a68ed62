// Model files of a run, written and read collectively by every rank, rows by global id so that
// any P can load them (DESIGN §5): the checkpoint directory (x0.npy, beta_logits.npy and a
// manifest written last) and the quantized model (model.gnaq). No torch here.
#pragma once

#include <cstdint>
#include <string>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

class Communicator;
class Trainer;

// Collective. A directory without manifest.json is not a checkpoint.
void save_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, int64_t epoch, const std::string& dir,
                     Communicator& comm);
// Throws InputError on a missing/malformed manifest or a checkpoint of another graph or width.
void load_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& dir);

// RUNDIR/model.gnaq: codes + FP8 levels + β (collective), and loading it (checks the options).
void export_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);
void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);  // collective

// The parameters a run starts from (train.init_from: a parameter checkpoint directory or a
// model.gnaq file, any P), and GNAQ without warm-up quantized at once, so that an evaluation-only
// run (train.epochs = 0) evaluates the quantized model too. Collective.
void load_initial_parameters(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& init_from,
                             Communicator& comm);

}  // namespace tkg
