#include "run/initial_parameters.hpp"

#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>

#include "common/error.hpp"
#include "common/fs.hpp"
#include <nlohmann/json.hpp>
#include "run/gnaq_export.hpp"
#include "format/npy_file.hpp"
#include "run/report.hpp"
#include "run/resume.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

// The parameter checkpoint of older runs (RUNDIR/checkpoint/: x0.npy, beta_logits.npy,
// manifest "tkg-checkpoint" v1), read by train.init_from; runs now keep their model in the
// resumable checkpoints (run/resume.hpp).
namespace {

void load_legacy_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& dir) {
  const std::string manifest = dir + "/manifest.json";
  if (!path_exists(manifest)) throw InputError(dir, 0, "not a checkpoint (no manifest.json; incomplete or wrong directory)");
  nlohmann::json pt;
  try {
    pt = nlohmann::json::parse(read_file(manifest));
    if (pt.at("format").get<std::string>() != "tkg-checkpoint" || pt.at("version").get<int>() != 1)
      throw InputError(manifest, 0, "not a version-1 tkg checkpoint");
    if (pt.at("n_users").get<int64_t>() != s.n_users || pt.at("n_items").get<int64_t>() != s.n_items)
      throw InputError(manifest, 0, "checkpoint is for a graph of " + std::to_string(pt.at("n_users").get<int64_t>()) + " users and " +
                                        std::to_string(pt.at("n_items").get<int64_t>()) + " items, this one has " +
                                        std::to_string(s.n_users) + " and " + std::to_string(s.n_items));
    if (pt.at("dim").get<int64_t>() != m.dim)
      throw InputError(manifest, 0, "checkpoint has dim " + std::to_string(pt.at("dim").get<int64_t>()) + ", model.dim is " + std::to_string(m.dim));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(manifest, 0, std::string("malformed manifest: ") + e.what());
  }
  const int64_t L = tr.beta_logits().size(1), nu = s.n_own_users;
  std::vector<float> x0(static_cast<size_t>(s.n_own() * m.dim)), beta(static_cast<size_t>(nu * L));
  npy_read_rows(dir + "/x0.npy", m.dim, s.owned, x0.data());
  npy_read_rows(dir + "/beta_logits.npy", L, std::vector<int64_t>(s.owned.begin(), s.owned.begin() + nu), beta.data());
  tr.load_parameters(x0.data(), beta.data());
}

}  // namespace

void load_initial_parameters(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t,
                             const std::string& init_from, Communicator& comm) {
  if (!init_from.empty()) {
    if (fs::is_regular_file(init_from)) {
      if (m.quant.bits == 0) throw InputError(init_from, 0, "a GNAQ model needs quant.bits set as in training");
      load_gnaq(s, tr, m, init_from, comm);
      if (comm.rank() == 0) std::printf("parameters loaded from %s\n", init_from.c_str());
    } else if (path_exists(init_from + "/x0.npy")) {
      // The parameter checkpoint older runs wrote (RUNDIR/checkpoint/): still read.
      load_legacy_checkpoint(s, tr, m, init_from);
      if (comm.rank() == 0) std::printf("parameters loaded from %s (an older run's parameter checkpoint)\n", init_from.c_str());
    } else {
      load_model(s, tr, m, t, init_from, comm);
    }
  }
  if (m.quant.bits && m.quant.warmup_epochs == 0 && !tr.quantized()) {
    tr.quantize_now();
    if (comm.rank() == 0) print_quant_accounting(m, 0);
  }
}

}  // namespace tkg
