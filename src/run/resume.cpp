#include "run/resume.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "comm/communicator.hpp"
#include "common/checksum.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include <nlohmann/json.hpp>
#include "format/npy_file.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

namespace {

constexpr const char* kFormat = "tkg-train-state";
// Version 2: each file's rows carry an order-free row-set hash (common/checksum.hpp) that every
// rank computes over the rows it writes or reads, so no rank reads the whole checkpoint. Version 1
// (a CRC-32 of each whole file, checked by rank 0) is still read.
constexpr int kVersion = 2;

std::string ckpt_name(int64_t epoch) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "epoch-%06lld", static_cast<long long>(epoch));
  return buf;
}

// The options a checkpoint must agree on to be resumed (name, value as text).
std::vector<std::pair<std::string, std::string>> must_match(const Shard& s, const ModelOptions& m, const TrainOptions& t) {
  return {{"n_users", std::to_string(s.n_users)},
          {"n_items", std::to_string(s.n_items)},
          {"model.dim", std::to_string(m.dim)},
          {"model.layers", std::to_string(m.layers)},
          {"model.attention", m.attention},
          {"model.beta", std::to_string(m.use_beta)},
          {"model.mean_layers", std::to_string(m.mean_layers)},
          {"quant.bits", std::to_string(m.quant.bits)},
          {"quant.concat_levels", std::to_string(m.quant.concat_levels)},
          {"quant.tanh", std::to_string(m.quant.tanh)},
          {"train.seed", std::to_string(t.seed)},
          {"eval.metric", t.select_metric}};
}

// One row-wise file of the checkpoint: its name, element type, columns, and which rows it holds.
struct Part {
  std::string name;
  NpyType type;
  int64_t cols;
  bool users_only;  // rows = users (β) or all nodes (table)
};

std::vector<Part> parts_of(const TrainerState& st, int64_t d) {
  const int64_t W = st.table.size(1), L = st.beta.size(1);
  std::vector<Part> p{{"table.npy", NpyType::kFloat32, W, false}, {"beta.npy", NpyType::kFloat32, L, true}};
  if (st.quantized) p.push_back({"codes.npy", NpyType::kUInt8, d, false});
  if (st.table_step) p.push_back({"table_m.npy", NpyType::kFloat32, W, false}), p.push_back({"table_v.npy", NpyType::kFloat32, W, false});
  if (st.beta_step) p.push_back({"beta_m.npy", NpyType::kFloat32, L, true}), p.push_back({"beta_v.npy", NpyType::kFloat32, L, true});
  if (st.has_best) {
    p.push_back({"best_table.npy", NpyType::kFloat32, W, false});
    p.push_back({"best_beta.npy", NpyType::kFloat32, L, true});
    if (st.best_codes.defined()) p.push_back({"best_codes.npy", NpyType::kUInt8, d, false});
  }
  return p;
}

at::Tensor* tensor_of(TrainerState& st, const std::string& name) {
  if (name == "table.npy") return &st.table;
  if (name == "beta.npy") return &st.beta;
  if (name == "codes.npy") return &st.codes;
  if (name == "table_m.npy") return &st.table_m;
  if (name == "table_v.npy") return &st.table_v;
  if (name == "beta_m.npy") return &st.beta_m;
  if (name == "beta_v.npy") return &st.beta_v;
  if (name == "best_table.npy") return &st.best_table;
  if (name == "best_beta.npy") return &st.best_beta;
  if (name == "best_codes.npy") return &st.best_codes;
  return nullptr;
}

// Removes a checkpoint directory, or says why it could not.
void remove_checkpoint_dir(const fs::path& p) {
  std::string why;
  if (!remove_tree(p.string(), &why)) throw InputError(p.string(), 0, "cannot remove: " + why);
}

std::vector<int64_t> user_ids(const Shard& s) { return std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users); }

// Rank 0: a complete checkpoint's manifest, checked; throws InputError (damage) or IncompatibleCheckpoint.
struct IncompatibleCheckpoint : InputError {
  using InputError::InputError;
};

nlohmann::json check_checkpoint(const std::string& dir, const Shard& s, const ModelOptions& m,
                                             const TrainOptions& t, bool verify_files, bool strict = true) {
  const std::string manifest = dir + "/manifest.json";
  if (!path_exists(manifest)) throw InputError(dir, 0, "not a checkpoint (no manifest.json: incomplete or wrong directory)");
  nlohmann::json pt;
  try {
    pt = nlohmann::json::parse(read_file(manifest));
    const int version = pt.at("version").get<int>();
    if (pt.at("format").get<std::string>() != kFormat || (version != 1 && version != kVersion))
      throw InputError(manifest, 0, std::string("not a version-1 or -") + std::to_string(kVersion) + " " + kFormat + " manifest");
    for (const auto& [key, value] : must_match(s, m, t)) {
      // A new run started from a checkpoint (train.init_from) needs only the same graph and shapes.
      if (!strict && key != "n_users" && key != "n_items" && key != "model.dim" && key != "model.layers") continue;
      // Option names contain dots: address them with '/' as the path separator.
      const std::string have = pt.at("options").at(key).get<std::string>();
      if (have != value)
        throw IncompatibleCheckpoint(manifest, 0, "checkpoint was written with " + key + " = " + have + ", this run has " +
                                                      value + " (same dataset and options needed to resume)");
    }
    if (verify_files) {
      // Presence and sizes (a stat each); the contents: version 1 by CRC here, version 2 by every
      // rank's row hashes when the rows are read (verify_rows).
      for (const auto& [name, f] : pt.at("files").items()) {
        const std::string path = dir + "/" + name;
        std::error_code ec;
        if (!path_exists(path)) throw InputError(path, 0, "file named in the manifest is missing");
        const uint64_t bytes = fs::file_size(path, ec);
        if (ec || bytes != f.at("bytes").get<uint64_t>())
          throw InputError(path, 0, "has " + std::to_string(bytes) + " bytes, the manifest says " +
                                        std::to_string(f.at("bytes").get<uint64_t>()) + " (truncated?)");
        if (version == 1 && crc32_file(path) != f.at("crc32").get<uint32_t>()) throw InputError(path, 0, "checksum mismatch (file corrupt)");
      }
    }
    // Every field the resume reads, present and of its type (a damaged manifest is an InputError here).
    for (const char* k : {"epoch", "best_epoch", "ranks", "quantized", "gnaq_steps", "table_step", "beta_step", "has_best", "best_quantized"})
      (void)pt.at(k).get<int64_t>();
    (void)pt.at("best").get<double>(), (void)pt.at("train_seconds").get<double>();
    for (const auto& [name, f] : pt.at("files").items()) {
      (void)f.at("cols").get<int64_t>();
      if (version >= 2) (void)f.at("row_hash").get<std::string>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(manifest, 0, std::string("malformed manifest: ") + e.what());
  }
  return pt;
}

// Complete checkpoints under root, newest first.
std::vector<std::string> complete_checkpoints(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("epoch-", 0) == 0 && n.find(".tmp") == std::string::npos && path_exists(e.path().string() + "/manifest.json"))
      out.push_back(e.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

// Rank 0 decides, every rank learns: a string (or the error that stops the run) from rank 0.
std::string share_from_rank0(const std::string& mine, Communicator& comm) {
  CollectiveSite site(comm, "checkpoint.share_from_rank0");
  int64_t len = static_cast<int64_t>(mine.size());
  comm.broadcast(&len, sizeof len, 0);
  std::string out = mine;
  out.resize(static_cast<size_t>(len));
  if (len) comm.broadcast(out.data(), len, 0);
  return out;
}

// This rank's row hash of part `p` (rows of `x` by the global ids they are stored at).
RowSetHash hash_rows(const Part& p, const at::Tensor& x, const std::vector<int64_t>& ids) {
  RowSetHash h;
  const size_t row = static_cast<size_t>(p.cols) * npy_type_size(p.type);
  const char* data = static_cast<const char*>(x.data_ptr());
  for (size_t k = 0; k < ids.size(); ++k) h.add(ids[k], data + k * row, row);
  return h;
}

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

void save_resumable(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const LoopState& loop,
                    const std::string& root, int keep, Communicator& comm) {
  const int me = comm.rank();
  TrainerState st = tr.state();
  const std::string final_dir = root + "/" + ckpt_name(loop.epoch), dir = final_dir + ".tmp";
  const std::vector<Part> parts = parts_of(st, m.dim);
  // Rank 0 lays out the files; a failure there (unwritable directory, full disk) reaches every rank.
  std::string error;
  if (me == 0) {
    try {
      fs::create_directories(root);
      remove_checkpoint_dir(dir);
      fs::create_directories(dir);
      for (const Part& p : parts) npy_create(dir + "/" + p.name, p.users_only ? s.n_users : s.n_users + s.n_items, p.cols, p.type);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = share_from_rank0(error, comm);
  if (!error.empty()) throw InputError(root, 0, "cannot write a checkpoint: " + error);
  // Every rank its rows, flushed by the rank that wrote them, and their row hash; any rank's
  // failure is everyone's. One reduction carries the failures and the hashes.
  std::vector<int64_t> users = user_ids(s);
  std::vector<int64_t> sums(1 + 2 * parts.size(), 0);  // [failed, (lane 0, lane 1) per part]
  try {
    for (size_t k = 0; k < parts.size(); ++k) {
      const Part& p = parts[k];
      at::Tensor* x = tensor_of(st, p.name);
      TKG_CHECK(x && x->defined(), "checkpoint part " << p.name << " has no data");
      const std::vector<int64_t>& ids = p.users_only ? users : s.owned;
      npy_write_rows(dir + "/" + p.name, p.cols, p.type, ids, x->data_ptr());
      fsync_path(dir + "/" + p.name);
      RowSetHash h = hash_rows(p, *x, ids);
      sums[1 + 2 * k] = h.lanes()[0], sums[2 + 2 * k] = h.lanes()[1];
    }
    error.clear();
  } catch (const std::exception& e) {
    error = "rank " + std::to_string(me) + ": " + e.what();
  }
  sums[0] = !error.empty();
  {
    CollectiveSite site(comm, "checkpoint.row_hashes");
    comm.all_reduce_sum(sums.data(), static_cast<int64_t>(sums.size()));
  }
  const int64_t failed = sums[0];
  if (failed) {
    if (!error.empty()) throw InputError(root, 0, "cannot write a checkpoint: " + error);
    throw InputError(root, 0, "cannot write a checkpoint: another rank failed to write its rows");
  }
  if (me == 0) {
    try {
      nlohmann::ordered_json w = nlohmann::ordered_json::object();
      w["format"] = kFormat;
      w["version"] = static_cast<int64_t>(kVersion);
      w["epoch"] = loop.epoch;
      w["best"] = loop.best;
      w["best_epoch"] = loop.best_epoch;
      w["train_seconds"] = loop.train_seconds;
      w["ranks"] = static_cast<int64_t>(comm.size());
      w["quantized"] = static_cast<int64_t>(st.quantized);
      w["gnaq_steps"] = st.gnaq_steps;
      w["table_step"] = st.table_step;
      w["beta_step"] = st.beta_step;
      w["has_best"] = static_cast<int64_t>(st.has_best);
      w["best_quantized"] = static_cast<int64_t>(st.best_quantized);
      w["options"] = nlohmann::ordered_json::object();
      for (const auto& [k, v] : must_match(s, m, t)) w["options"][k] = v;
      w["files"] = nlohmann::ordered_json::object();
      for (size_t k = 0; k < parts.size(); ++k) {
        const Part& p = parts[k];
        RowSetHash h;
        h.lanes()[0] = sums[1 + 2 * k], h.lanes()[1] = sums[2 + 2 * k];
        h.reduce();
        w["files"][p.name] = nlohmann::ordered_json::object();
        w["files"][p.name]["bytes"] = static_cast<int64_t>(fs::file_size(dir + "/" + p.name));
        w["files"][p.name]["row_hash"] = hex64(h.value());
        w["files"][p.name]["cols"] = p.cols;
      }
      write_file_atomic(dir + "/manifest.json", w.dump(2) + "\n");
      remove_checkpoint_dir(final_dir);
      fs::rename(dir, final_dir);
      fsync_path(root);
      // Keep the newest `keep` complete checkpoints; unfinished ones go too.
      std::vector<std::string> all = complete_checkpoints(root);
      for (size_t k = static_cast<size_t>(std::max(1, keep)); k < all.size(); ++k) remove_checkpoint_dir(all[k]);
      std::vector<fs::path> stale;
      for (const auto& e : fs::directory_iterator(root))
        if (e.path().filename().string().find(".tmp") != std::string::npos) stale.push_back(e.path());
      for (const fs::path& p : stale) remove_checkpoint_dir(p);
      error.clear();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = share_from_rank0(error, comm);
  if (!error.empty()) throw InputError(root, 0, "cannot complete a checkpoint: " + error);
}

namespace {

// Collective: chooses a checkpoint (spec: a directory, or "auto": the newest complete one under
// root that reads back intact), reads this rank's rows and verifies the row hashes. strict: the
// options must match as for a resume (else only the graph and shapes). Returns false when "auto"
// finds none; errors name `option`.
bool read_checkpoint(const Shard& s, const ModelOptions& m, const TrainOptions& t, const std::string& spec,
                     const std::string& root, bool strict, const std::string& option, Communicator& comm, TrainerState* out,
                     nlohmann::json* manifest, std::string* dir) {
  const int me = comm.rank();
  // Rank 0 proposes the candidates one at a time (manifest, compatibility, file sizes: no file
  // contents); every rank reads its own rows of it and hashes them; the summed hashes must equal
  // the manifest's. A damaged newest checkpoint ("auto") is skipped for the previous one.
  // Messages from rank 0: a directory, "!" + error (stops every rank), "" (none left).
  std::vector<std::string> candidates;
  if (me == 0) candidates = spec == "auto" ? complete_checkpoints(root) : std::vector<std::string>{spec};
  size_t next = 0;
  std::vector<int64_t> users = user_ids(s);
  for (;;) {
    std::string chosen;
    if (me == 0) {
      while (next < candidates.size() && chosen.empty()) {
        const std::string& dir = candidates[next++];
        try {
          check_checkpoint(dir, s, m, t, /*verify_files=*/true, strict);
          chosen = dir;
        } catch (const IncompatibleCheckpoint& e) {
          chosen = std::string("!") + e.what();
        } catch (const std::exception& e) {
          if (spec != "auto") {
            chosen = std::string("!") + e.what();
          } else {
            log::warn(std::string("skipping a damaged checkpoint: ") + e.what());
          }
        }
      }
    }
    chosen = share_from_rank0(chosen, comm);
    if (!chosen.empty() && chosen[0] == '!') throw InputError(option, 0, chosen.substr(1));
    if (chosen.empty()) {
      if (spec != "auto") throw InputError(spec, 0, "not a checkpoint");
      return false;
    }
    const nlohmann::json pt = check_checkpoint(chosen, s, m, t, /*verify_files=*/false, strict);
    const bool hashed = pt.at("version").get<int>() >= 2;
    TrainerState st;
    st.quantized = pt.at("quantized").get<int>() != 0;
    st.gnaq_steps = pt.at("gnaq_steps").get<int64_t>();
    st.table_step = pt.at("table_step").get<int64_t>();
    st.beta_step = pt.at("beta_step").get<int64_t>();
    st.has_best = pt.at("has_best").get<int>() != 0;
    st.best_quantized = pt.at("best_quantized").get<int>() != 0;
    std::vector<std::string> names;
    std::vector<int64_t> sums(1, 0);  // [read failed, (lane 0, lane 1) per file]
    std::string error;
    for (const auto& [name, f] : pt.at("files").items()) {
      names.push_back(name);
      sums.push_back(0), sums.push_back(0);
      if (!error.empty()) continue;
      try {
        at::Tensor* x = tensor_of(st, name);
        if (!x) throw InputError(chosen, 0, "unknown checkpoint file " + name);
        const bool users_only = name.find("beta") != std::string::npos;
        const bool codes = name.find("codes") != std::string::npos;
        const int64_t cols = f.at("cols").get<int64_t>(), n = users_only ? s.n_own_users : s.n_own();
        const std::vector<int64_t>& ids = users_only ? users : s.owned;
        *x = at::empty({n, cols}, codes ? at::kByte : at::kFloat);
        npy_read_rows(chosen + "/" + name, cols, codes ? NpyType::kUInt8 : NpyType::kFloat32, ids, x->data_ptr());
        if (hashed) {
          RowSetHash h = hash_rows(Part{name, codes ? NpyType::kUInt8 : NpyType::kFloat32, cols, users_only}, *x, ids);
          sums[sums.size() - 2] = h.lanes()[0], sums[sums.size() - 1] = h.lanes()[1];
        }
      } catch (const std::exception& e) {
        error = "rank " + std::to_string(me) + ": " + e.what();
      }
    }
    sums[0] = !error.empty();
    {
      CollectiveSite site(comm, "resume.row_hashes");
      comm.all_reduce_sum(sums.data(), static_cast<int64_t>(sums.size()));
    }
    // Rank 0 judges: "" (good), else the reason.
    std::string verdict;
    if (me == 0) {
      if (sums[0]) verdict = error.empty() ? "another rank could not read its rows" : error;
      for (size_t k = 0; k < names.size() && verdict.empty() && hashed; ++k) {
        RowSetHash h;
        h.lanes()[0] = sums[1 + 2 * k], h.lanes()[1] = sums[2 + 2 * k];
        h.reduce();
        if (hex64(h.value()) != pt.at("files").at(names[k]).at("row_hash").get<std::string>())
          verdict = chosen + "/" + names[k] + ": checksum mismatch (file corrupt)";
      }
    }
    verdict = share_from_rank0(verdict, comm);
    if (!verdict.empty()) {
      if (spec != "auto") throw InputError(option, 0, verdict);
      if (me == 0) {
        log::warn("skipping a damaged checkpoint: " + verdict);
      }
      continue;
    }
    *out = st;
    *manifest = pt;
    *dir = chosen;
    return true;
  }
}

}  // namespace

bool resume_from(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const std::string& spec,
                 const std::string& root, LoopState* loop, Communicator& comm) {
  TrainerState st;
  nlohmann::json pt;
  std::string chosen;
  if (!read_checkpoint(s, m, t, spec, root, /*strict=*/true, "train.resume", comm, &st, &pt, &chosen)) return false;
  tr.set_state(st);
  loop->epoch = pt.at("epoch").get<int64_t>();
  loop->best = pt.at("best").get<double>();
  loop->best_epoch = pt.at("best_epoch").get<int64_t>();
  loop->train_seconds = pt.at("train_seconds").get<double>();
  if (comm.rank() == 0) {
    std::printf("resumed from %s (epoch %lld, written by %d rank(s), this run has %d)\n", chosen.c_str(),
                static_cast<long long>(loop->epoch), pt.at("ranks").get<int>(), comm.size());
    std::fflush(stdout);
  }
  return true;
}

bool is_train_state_checkpoint(const std::string& dir) {
  if (!path_exists(dir + "/manifest.json")) return false;
  try {
    return nlohmann::json::parse(read_file(dir + "/manifest.json")).value("format", "") == kFormat;
  } catch (const std::exception&) {
    return false;
  }
}

void load_model(const Shard& s, Trainer& tr, const ModelOptions& m, const TrainOptions& t, const std::string& from,
                Communicator& comm) {
  // A checkpoint directory, or a run directory / its checkpoints/ (the newest complete one).
  std::string spec = from, root;
  if (!is_train_state_checkpoint(from)) {
    root = path_exists(from + "/checkpoints") ? from + "/checkpoints" : from;
    spec = "auto";
  }
  TrainerState st;
  nlohmann::json pt;
  std::string chosen;
  if (!read_checkpoint(s, m, t, spec, root, /*strict=*/false, "train.init_from", comm, &st, &pt, &chosen))
    throw InputError(from, 0, "not a checkpoint: no complete checkpoint here (give a checkpoints/epoch-N directory, a run directory, or a model.gnaq file)");
  // The model the run selected (its kept best copy), else its last state.
  const bool best = st.has_best;
  const bool quantized = best ? st.best_quantized : st.quantized;
  const at::Tensor& table = best ? st.best_table : st.table;
  const at::Tensor& beta = best ? st.best_beta : st.beta;
  if (beta.size(1) != tr.beta_logits().size(1))
    throw InputError(chosen, 0, "checkpoint has " + std::to_string(beta.size(1)) + " beta columns, model.layers gives " +
                                    std::to_string(tr.beta_logits().size(1)));
  if (quantized) {
    const int64_t levels = int64_t{1} << std::max(m.quant.bits, 0);
    if (m.quant.bits == 0 || table.size(1) != levels)
      throw InputError(chosen, 0, "the checkpoint holds a GNAQ model with " + std::to_string(table.size(1)) +
                                      " levels per node; set quant.bits (and the GNAQ options) as in its run");
    const at::Tensor& codes = best ? st.best_codes : st.codes;
    tr.load_quantized(codes.data_ptr<uint8_t>(), table.data_ptr<float>(), beta.data_ptr<float>());
  } else {
    if (table.size(1) != m.dim) throw InputError(chosen, 0, "checkpoint rows have " + std::to_string(table.size(1)) + " columns, model.dim is " + std::to_string(m.dim));
    tr.load_parameters(table.data_ptr<float>(), beta.data_ptr<float>());
  }
  if (comm.rank() == 0) {
    std::printf("model loaded from %s (%s of epoch %lld)\n", chosen.c_str(), best ? "the kept best copy" : "the state",
                static_cast<long long>(best ? pt.at("best_epoch").get<int64_t>() : pt.at("epoch").get<int64_t>()));
    std::fflush(stdout);
  }
}
}  // namespace tkg
