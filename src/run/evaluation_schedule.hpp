// Which evaluations a run makes and of whom (DESIGN §2, §4 "Evaluation"): validation every
// `eval.every` epochs and after the last one (on the test split when there is no validation
// split), the final test at the best epoch; each of a fixed seeded sample of users with
// `eval.users`, with a time estimate and progress lines when long.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/eval_users.hpp"
#include "eval/metrics.hpp"
#include "eval/topk.hpp"
#include "run/run.hpp"

namespace tkg {

class Communicator;
class Progress;
class Trainer;
struct OwnedUserItems;
struct Shard;

struct EvalPlan {
  std::string name;  // valid | test
  EvalUsers users;
  double est_s = 0;  // estimated seconds (slowest rank)
};

class EvaluationSchedule {
 public:
  // Collective: the validation and test users, and their estimated time from a short probe of
  // this rank's scoring speed.
  EvaluationSchedule(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm);
  bool due(int64_t epoch) const { return epoch % o_.train.eval_every == 0 || epoch == o_.train.epochs; }
  bool sampled() const { return o_.train.eval_users > 0; }
  bool has_validation_split() const { return has_valid_; }
  const EvalPlan& validation() const { return val_; }
  const EvalPlan& test() const { return test_; }
  // Collective: the validation metrics now.
  MetricSums validate(Progress& progress);
  // Collective: the final test; `users` gets the users scored (every owned user for a full
  // evaluation: their lists are exported) and `acc` (sized for them) their top-K lists.
  MetricSums final_test(Progress& progress, std::vector<int64_t>* users, std::unique_ptr<TopKAccumulator>* acc);
  // Rank 0: the plan's line (and the advice to sample when a full evaluation is long).
  void print_plan() const;

 private:
  MetricSums run(const EvalPlan& p, const OwnedUserItems& split, const std::vector<int64_t>& users, TopKAccumulator* keep,
                 Progress& progress);
  const RunOptions& o_;
  const Shard& shard_;
  Trainer& trainer_;
  Communicator& comm_;
  bool has_valid_ = false;
  EvalPlan val_, test_;
};

}  // namespace tkg
