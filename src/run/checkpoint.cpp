#include "run/checkpoint.hpp"

#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include <nlohmann/json.hpp>
#include "quant/gnaq_file.hpp"
#include "run/outputs.hpp"
#include "run/report.hpp"
#include "run/resume.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

// The parameter checkpoint of older runs (RUNDIR/checkpoint/: x0.npy, beta_logits.npy,
// manifest "tkg-checkpoint" v1), read by train.init_from; runs now keep their model in the
// resumable checkpoints (run/resume.hpp).
void load_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& dir) {
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

// RUNDIR/model.gnaq: the quantized model (codes + FP8 levels + β), written by every rank.
void export_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm) {
  GnaqHeader h;
  h.bits = m.quant.bits;
  h.n_users = s.n_users;
  h.n_items = s.n_items;
  h.dim = m.dim;
  h.beta_columns = tr.beta_logits().size(1);
  h.concat_levels = m.quant.concat_levels;
  h.tanh = m.quant.tanh;
  if (comm.rank() == 0) gnaq_create(path, h);
  comm.barrier();
  at::Tensor codes = tr.codes().to(at::kCPU).contiguous(), levels = tr.levels().detach().to(at::kCPU).contiguous();
  at::Tensor beta = tr.beta_logits().detach().to(at::kCPU).contiguous();  // host copies
  RowSetHash hash = gnaq_write(path, h, s.owned, codes.data_ptr<uint8_t>(), levels.data_ptr<float>(),
                               std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data_ptr<float>());
  {
    CollectiveSite site(comm, "export_gnaq.row_hash");
    comm.all_reduce_sum(hash.lanes(), 2);  // every rank has written and flushed its rows
  }
  hash.reduce();
  if (comm.rank() == 0) gnaq_seal(path, h, hash.value());
  comm.barrier();
}

void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm) {
  GnaqHeader h = gnaq_open(path);  // header and trailer only
  if (h.n_users != s.n_users || h.n_items != s.n_items)
    throw InputError(path, 0, "model is for " + std::to_string(h.n_users) + " users and " + std::to_string(h.n_items) +
                                  " items, the data has " + std::to_string(s.n_users) + " and " + std::to_string(s.n_items));
  if (h.dim != m.dim || h.bits != m.quant.bits || h.concat_levels != m.quant.concat_levels || h.tanh != m.quant.tanh)
    throw InputError(path, 0, "model was trained with dim " + std::to_string(h.dim) + ", quant.bits " +
                                  std::to_string(h.bits) + ", concat_levels " + std::to_string(h.concat_levels) +
                                  ", tanh " + std::to_string(h.tanh) + "; set the same options to load it");
  if (h.beta_columns != tr.beta_logits().size(1))
    throw InputError(path, 0, "model has " + std::to_string(h.beta_columns) + " beta columns, model.layers gives " +
                                  std::to_string(tr.beta_logits().size(1)));
  const int64_t L = int64_t{1} << h.bits;
  std::vector<uint8_t> codes(static_cast<size_t>(s.n_own() * h.dim));
  std::vector<float> levels(static_cast<size_t>(s.n_own() * L)), beta(static_cast<size_t>(s.n_own_users * h.beta_columns));
  // Each rank reads its own rows; their hashes summed over ranks must be the file's.
  // A rank that cannot read its rows says so in the same reduction (no peer is left waiting).
  RowSetHash hash;
  std::string error;
  try {
    hash = gnaq_read(path, h, s.owned, codes.data(), levels.data(),
                     std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data());
  } catch (const std::exception& e) {
    error = e.what();
  }
  int64_t sums[3] = {hash.lanes()[0], hash.lanes()[1], !error.empty()};
  {
    CollectiveSite site(comm, "load_gnaq.row_hash");
    comm.all_reduce_sum(sums, 3);
  }
  if (!error.empty()) throw InputError(path, 0, "rank " + std::to_string(comm.rank()) + ": " + error);
  if (sums[2]) throw InputError(path, 0, "another rank could not read its rows of the model");
  hash.lanes()[0] = sums[0], hash.lanes()[1] = sums[1];
  hash.reduce();
  if (h.version >= 2 && hash.value() != h.row_hash) throw InputError(path, 0, "GNAQ model checksum mismatch (rows corrupt)");
  tr.load_quantized(codes.data(), levels.data(), beta.data());
}

void load_initial_parameters(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t,
                             const std::string& init_from, Communicator& comm) {
  if (!init_from.empty()) {
    if (fs::is_regular_file(init_from)) {
      if (m.quant.bits == 0) throw InputError(init_from, 0, "a GNAQ model needs quant.bits set as in training");
      load_gnaq(s, tr, m, init_from, comm);
      if (comm.rank() == 0) std::printf("parameters loaded from %s\n", init_from.c_str());
    } else if (path_exists(init_from + "/x0.npy")) {
      // The parameter checkpoint older runs wrote (RUNDIR/checkpoint/): still read.
      load_checkpoint(s, tr, m, init_from);
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
