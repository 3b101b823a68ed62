// Model files of a run, written and read collectively by every rank, rows by global id so that
// any P can load them (DESIGN §5): the quantized model (model.gnaq), the parameters a run starts
// from (train.init_from), and older runs' parameter checkpoint (read only). The resumable
// checkpoint, which is also the model a run leaves, is run/resume.hpp's. No torch here.
#pragma once

#include <cstdint>
#include <string>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

class Communicator;
class Trainer;

// Collective. A directory without manifest.json is not a checkpoint.
// Throws InputError on a missing/malformed manifest or a checkpoint of another graph or width.
void load_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& dir);

// RUNDIR/model.gnaq: codes + FP8 levels + β (collective), and loading it (checks the options).
void export_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);
void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);  // collective

// The parameters a run starts from (train.init_from: a parameter checkpoint directory or a
// model.gnaq file, any P), and GNAQ without warm-up quantized at once, so that an evaluation-only
// run (train.epochs = 0) evaluates the quantized model too. Collective.
void load_initial_parameters(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t,
                             const std::string& init_from, Communicator& comm);

}  // namespace tkg
