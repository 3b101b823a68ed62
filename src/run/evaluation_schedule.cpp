#include "run/evaluation_schedule.hpp"

#include <algorithm>
#include <cstdio>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "eval/ring_evaluator.hpp"
#include "run/progress.hpp"
#include "train/trainer.hpp"

namespace tkg {

EvaluationSchedule::EvaluationSchedule(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm)
    : o_(o), shard_(shard), trainer_(trainer), comm_(comm) {
  const TrainOptions& t = o.train;
  CollectiveSite site(comm, "evaluation_schedule");
  has_valid_ = comm.all_reduce_sum(static_cast<int64_t>(shard.valid.items.size())) > 0;
  const double rate = probe_score_rate(trainer.width(), trainer.device(), std::max<int>(t.ks.back(), t.topk_export));
  auto plan = [&](const std::string& name, const OwnedUserItems& split) {
    EvalPlan p{name, select_eval_users(shard, split, t.eval_users, t.seed, comm), 0};
    p.est_s = comm.all_reduce_max(static_cast<double>(p.users.local.size()) * static_cast<double>(shard.n_items) / rate);
    return p;
  };
  val_ = plan(has_valid_ ? "valid" : "test", has_valid_ ? shard.valid : shard.test);
  test_ = has_valid_ ? plan("test", shard.test) : val_;
}

MetricSums EvaluationSchedule::run(const EvalPlan& p, const OwnedUserItems& split, const std::vector<int64_t>& users,
                                   TopKAccumulator* keep, Progress& progress) {
  const double v0 = now_s();
  if (comm_.rank() == 0 && o_.progress && p.est_s > 2 * o_.progress_every_s) {
    progress.break_line();
    std::printf("  evaluating %s: %lld users x %lld items, estimated %s\n", p.name.c_str(),
                static_cast<long long>(p.users.global), static_cast<long long>(shard_.n_items), fmt_duration(p.est_s).c_str());
    std::fflush(stdout);
  }
  return trainer_.evaluate(split, users, keep, [&](double f) { progress.evaluation(p.name, f, now_s() - v0); });
}

MetricSums EvaluationSchedule::validate(Progress& progress) {
  return run(val_, has_valid_ ? shard_.valid : shard_.test, val_.users.local, nullptr, progress);
}

MetricSums EvaluationSchedule::final_test(Progress& progress, std::vector<int64_t>* users,
                                          std::unique_ptr<TopKAccumulator>* acc) {
  // The evaluated users, plus (full evaluation) every other owned user, whose lists are exported too.
  *users = test_.users.local;
  if (!sampled()) {
    users->resize(static_cast<size_t>(shard_.n_own_users));
    for (int64_t u = 0; u < shard_.n_own_users; ++u) (*users)[u] = u;
  }
  const int64_t k = std::max<int64_t>(o_.train.topk_export, o_.train.ks.back());
  *acc = std::make_unique<TopKAccumulator>(static_cast<int64_t>(users->size()), static_cast<int>(k));
  return run(test_, shard_.test, *users, acc->get(), progress);
}

void EvaluationSchedule::print_plan() const {
  if (!has_valid_) std::printf("note: no validation split; model selection uses the test split\n");
  std::printf("evaluation: %s%lld of %lld %s users x %lld items per evaluation, estimated %s each (test: %s)\n",
              sampled() ? "sampled, " : "", static_cast<long long>(val_.users.global),
              static_cast<long long>(val_.users.eligible), val_.name.c_str(), static_cast<long long>(shard_.n_items),
              fmt_duration(val_.est_s).c_str(), fmt_duration(test_.est_s).c_str());
  if (!sampled() && std::max(val_.est_s, test_.est_s) > 120)
    std::printf("note: a full evaluation ranks every user against every item (about %s here); for a graph this "
                "size evaluate a fixed sample, e.g. --eval.users 10000 (metrics then carry a 95 %% confidence "
                "interval)\n",
                fmt_duration(std::max(val_.est_s, test_.est_s)).c_str());
}

}  // namespace tkg
