// The parameters a run starts from (train.init_from), read collectively by every rank, rows by
// global id so that any P can load them (DESIGN §5): a resumable checkpoint or a run directory
// (run/resume.hpp), a model.gnaq file (run/gnaq_export.hpp), or an older run's parameter
// checkpoint (RUNDIR/checkpoint/: x0.npy, beta_logits.npy, manifest "tkg-checkpoint" v1; read
// only). No torch here.
#pragma once

#include <string>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

class Communicator;
class Trainer;

// Loads init_from (when set), then quantizes GNAQ without warm-up at once, so that an
// evaluation-only run (train.epochs = 0) evaluates the quantized model too. Collective. Throws
// InputError on a missing or malformed source, or one of another graph, width or quantization.
void load_initial_parameters(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t,
                             const std::string& init_from, Communicator& comm);

}  // namespace tkg
