#include "run/model_selection.hpp"

#include "train/trainer.hpp"

namespace tkg {

void ModelSelection::apply(const EpochDecision& d, int64_t epoch, double score, Trainer& trainer) {
  if (!d.improved) return;
  best_ = score;
  best_epoch_ = epoch;
  trainer.save_best();
}

}  // namespace tkg
