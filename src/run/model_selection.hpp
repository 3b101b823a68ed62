// Model selection and early stopping (DESIGN §2): keep the parameters of the best validation
// score, stop `patience` epochs after it. Rank 0 proposes from its scores; every rank applies the
// broadcast decision (run/loop_decision.hpp). No torch here.
#pragma once

#include <cstdint>

#include "run/loop_decision.hpp"

namespace tkg {

class Trainer;

class ModelSelection {
 public:
  // best, best_epoch: where a resumed run left off (-1e30 / 0 for a new run).
  ModelSelection(double best, int64_t best_epoch, int64_t patience)
      : best_(best), best_epoch_(best_epoch), patience_(patience) {}
  // Rank 0: sets d.improved and d.early_stop for the validation score of `epoch`.
  void propose(EpochDecision& d, int64_t epoch, double score) const {
    d.improved = score > best_;
    d.early_stop = !d.improved && epoch - best_epoch_ >= patience_;
  }
  // Every rank: keeps a copy of the parameters when the decision says so.
  void apply(const EpochDecision& d, int64_t epoch, double score, Trainer& trainer);
  // GNAQ's phase 2 starts: selection starts over, so the kept model is a quantized one.
  void restart() {
    best_ = -1;
    best_epoch_ = 0;
  }
  bool is_best(double score) const { return score > best_; }
  double best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }

 private:
  double best_;
  int64_t best_epoch_;
  int64_t patience_;
};

}  // namespace tkg
