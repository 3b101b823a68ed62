#include "train/run.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <cstdlib>
#include <thread>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_writer.hpp"
#include "graph/csr.hpp"
#include "graph/dataset.hpp"
#include "partition/partitioner.hpp"
#include "shard/partition_dir.hpp"
#include "quant/gnaq_file.hpp"
#include "train/outputs.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fmt_duration(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return buf;
}

Shard load_rank_shard(const RunOptions& o, Communicator& comm) {
  const int P = comm.size(), me = comm.rank();
  if (!o.partition_dir.empty()) {
    PartitionMeta meta = read_partition_meta(o.partition_dir);
    if (meta.parts != P)
      throw InputError(o.partition_dir, 0, "partition has " + std::to_string(meta.parts) + " parts but the job runs " +
                                               std::to_string(P) + " ranks (re-run tkg-partition --parts " +
                                               std::to_string(P) + ")");
    return load_partition_shard(o.partition_dir, me);
  }
  ReadOptions ro;
  ro.format = parse_text_format(o.format);
  ro.drop_duplicates = o.drop_duplicates;
  Dataset ds = load_dataset(o.data_dir, ro);
  if (me == 0) std::cout << "dataset: " << describe_dataset(ds) << std::endl;
  if (P == 1) return build_single_shard(ds);
  // Every rank computes the same deterministic partition and keeps its own shard.
  PartitionOptions po;
  po.parts = P;
  po.method = parse_partition_method(o.partition_method);
  std::vector<int32_t> part = partition_nodes(build_train_csr(ds, true), po);
  Shard mine;
  build_shards(ds, part, P, compute_partition_id(ds.n_users, ds.n_items, P, part), nullptr, [&](Shard&& s) {
    if (s.rank == me) mine = std::move(s);
  });
  return mine;
}

std::vector<std::pair<std::string, double>> metric_columns(const MetricSums& m) {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& name : m.names()) out.emplace_back(name, m.mean(name));
  return out;
}

// Writes RUNDIR/embeddings/{users,items}.npy (rows by original id) from every rank's owned rows.
void export_embeddings(const Shard& s, const at::Tensor& final, const std::string& dir, Communicator& comm) {
  const int64_t d = final.size(1), nu = s.n_own_users;
  const std::string users = dir + "/users.npy", items = dir + "/items.npy";
  const std::string tu = users + ".tmp", ti = items + ".tmp";
  if (comm.rank() == 0) {
    fs::create_directories(dir);
    npy_create_f32(tu, s.n_users, d);
    npy_create_f32(ti, s.n_items, d);
  }
  comm.barrier();
  std::vector<int64_t> uid(s.owned.begin(), s.owned.begin() + nu), iid;
  for (int64_t k = nu; k < s.n_own(); ++k) iid.push_back(s.owned[k] - s.n_users);
  at::Tensor f = final.to(at::kCPU).contiguous();  // [n_own, d] float32 on the host
  npy_write_rows(tu, d, uid, f.data_ptr<float>());
  npy_write_rows(ti, d, iid, f.data_ptr<float>() + nu * d);
  comm.barrier();
  if (comm.rank() == 0) {
    fs::rename(tu, users);
    fs::rename(ti, items);
  }
}

// Checkpoint (DESIGN §5): parameters by global id, so any P can load it. Every rank writes its
// rows into x0.npy / beta_logits.npy (temp names, renamed when complete); the manifest is written
// last, so a directory without manifest.json is not a checkpoint.
void save_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, int64_t epoch, const std::string& dir,
                     Communicator& comm) {
  const int64_t d = m.dim, L = tr.beta_logits().size(1), nu = s.n_own_users;
  const std::string x0 = dir + "/x0.npy", beta = dir + "/beta_logits.npy";
  if (comm.rank() == 0) {
    fs::create_directories(dir);
    fs::remove(dir + "/manifest.json");
    npy_create_f32(x0 + ".tmp", s.n_users + s.n_items, d);
    npy_create_f32(beta + ".tmp", s.n_users, L);
  }
  comm.barrier();
  at::Tensor e = tr.x0_table(), b = tr.beta_logits().detach().to(at::kCPU).contiguous();  // host copies
  npy_write_rows(x0 + ".tmp", d, s.owned, e.data_ptr<float>());
  npy_write_rows(beta + ".tmp", L, std::vector<int64_t>(s.owned.begin(), s.owned.begin() + nu), b.data_ptr<float>());
  comm.barrier();
  if (comm.rank() == 0) {
    fs::rename(x0 + ".tmp", x0);
    fs::rename(beta + ".tmp", beta);
    JsonWriter w;
    w.begin_object();
    w.key("format").value("tkg-checkpoint");
    w.key("version").value(int64_t{1});
    w.key("epoch").value(epoch);
    w.key("n_users").value(s.n_users);
    w.key("n_items").value(s.n_items);
    w.key("dim").value(d);
    w.key("layers").value(static_cast<int64_t>(m.layers));
    w.key("beta_columns").value(L);
    w.end_object();
    write_file_atomic(dir + "/manifest.json", w.str());
  }
  comm.barrier();
}

void load_checkpoint(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& dir) {
  const std::string manifest = dir + "/manifest.json";
  if (!path_exists(manifest)) throw InputError(dir, 0, "not a checkpoint (no manifest.json; incomplete or wrong directory)");
  boost::property_tree::ptree pt;
  try {
    std::istringstream in(read_file(manifest));
    boost::property_tree::read_json(in, pt);
    if (pt.get<std::string>("format") != "tkg-checkpoint" || pt.get<int>("version") != 1)
      throw InputError(manifest, 0, "not a version-1 tkg checkpoint");
    if (pt.get<int64_t>("n_users") != s.n_users || pt.get<int64_t>("n_items") != s.n_items)
      throw InputError(manifest, 0, "checkpoint is for a graph of " + pt.get<std::string>("n_users") + " users and " +
                                        pt.get<std::string>("n_items") + " items, this one has " +
                                        std::to_string(s.n_users) + " and " + std::to_string(s.n_items));
    if (pt.get<int64_t>("dim") != m.dim)
      throw InputError(manifest, 0, "checkpoint has dim " + pt.get<std::string>("dim") + ", model.dim is " + std::to_string(m.dim));
  } catch (const boost::property_tree::ptree_error& e) {
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
  gnaq_write(path, h, s.owned, codes.data_ptr<uint8_t>(), levels.data_ptr<float>(),
             std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data_ptr<float>());
  comm.barrier();
  if (comm.rank() == 0) gnaq_seal(path, h);
  comm.barrier();
}

void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path) {
  GnaqHeader h = gnaq_open(path);
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
  gnaq_read(path, h, s.owned, codes.data(), levels.data(),
            std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data());
  tr.load_quantized(codes.data(), levels.data(), beta.data());
}

// Writes RUNDIR/topk.tsv ("user<TAB>item1,item2,...", ascending user id) from every rank's lists.
void export_topk(const Shard& s, const TopKAccumulator& acc, int64_t k, const std::string& path, Communicator& comm) {
  std::ostringstream mine;
  for (int64_t u = 0; u < s.n_own_users; ++u) {
    std::vector<int64_t> r = acc.ranked(u);
    mine << s.owned[u] << '\t';
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(r.size())); ++j) mine << (j ? "," : "") << r[j];
    mine << '\n';
  }
  const std::string part = path + ".part" + std::to_string(comm.rank());
  write_file_atomic(part, mine.str());
  comm.barrier();
  if (comm.rank() == 0) {
    std::vector<std::pair<int64_t, std::string>> lines;
    for (int r = 0; r < comm.size(); ++r) {
      std::string p = path + ".part" + std::to_string(r);
      std::istringstream in(read_file(p));
      std::string line;
      while (std::getline(in, line)) lines.emplace_back(std::stoll(line.substr(0, line.find('\t'))), line);
      fs::remove(p);
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (auto& l : lines) out += l.second + "\n";
    write_file_atomic(path, out);
  }
  comm.barrier();
}

int64_t quant_levels(const ModelOptions& m) { return m.quant.bits ? int64_t{1} << m.quant.bits : 0; }

// Bytes per node: stored model, training state, layer-0 halo row on the wire (DESIGN §3).
struct QuantBytes {
  double model_fp32, model_quant, state_fp32, state_quant, wire_fp32, wire_quant;
};
QuantBytes quant_bytes(const ModelOptions& m) {
  const double d = m.dim, L = static_cast<double>(quant_levels(m));
  const double packed = std::ceil(d * m.quant.bits / 8.0);
  // fp32: table + 2 AdamW moments; GNAQ: fp32 master levels + 2 moments + unpacked codes.
  return QuantBytes{4 * d, packed + L, 12 * d, 12 * L + d, 4 * (d + 1), packed + L + 4};
}

void print_quant_accounting(const ModelOptions& m, int64_t epoch) {
  QuantBytes b = quant_bytes(m);
  std::printf("GNAQ from epoch %lld: b=%d, %lld levels/node; bytes per node: stored model %.0f (fp32 %.0f, %.1fx "
              "smaller), training state %.0f (fp32 %.0f), layer-0 halo row on the wire %.0f (fp32 %.0f)\n",
              static_cast<long long>(epoch), m.quant.bits, static_cast<long long>(quant_levels(m)), b.model_quant,
              b.model_fp32, b.model_fp32 / b.model_quant, b.state_quant, b.state_fp32,
              m.quant.fp8_halo ? b.wire_quant : b.wire_fp32 + 4 * quant_levels(m) * m.quant.concat_levels,
              b.wire_fp32);
  std::fflush(stdout);
}

}  // namespace

std::string resolve_device(const std::string& device, Communicator& comm) {
  if (device == "cpu") return device;
  if (device.rfind("cuda", 0) != 0) throw InputError("model.device", 0, "expected cpu, cuda or cuda:N, got '" + device + "'");
  if (!at::hasCUDA())
    throw InputError("model.device", 0, "rank " + std::to_string(comm.rank()) + ": model.device = " + device +
                     " but this LibTorch has no CUDA or no GPU is visible (build against a CUDA LibTorch, see docs/gpu.md)");
  if (device != "cuda") return device;
  const int n = static_cast<int>(at::detail::getCUDAHooks().getNumGPUs());
  return "cuda:" + std::to_string(local_rank_from_env(comm.local_rank()) % n);  // as the NCCL backend chooses
}

int run_training(const RunOptions& opts, Communicator& comm, Communicator* tensor_comm) {
  RunOptions o = opts;
  o.model.device = resolve_device(opts.model.device, comm);
  const int me = comm.rank(), P = comm.size();
  // Intra-op threads: as configured, else the node's cores shared among the ranks on it.
  const int threads = o.threads > 0 ? o.threads
                                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                                                      std::max(1, comm.local_size()));
  at::set_num_threads(threads);
  const double t_start = now_s();
  Shard shard = load_rank_shard(o, comm);
  if (me == 0) {
    fs::create_directories(o.out_dir);
    if (!o.config_text.empty()) write_file_atomic(o.out_dir + "/config.ini", o.config_text);
  }
  comm.barrier();
  Trainer trainer(shard, o.model, o.train, comm, tensor_comm);
  if (!o.init_from.empty()) {
    if (fs::is_regular_file(o.init_from)) {
      if (o.model.quant.bits == 0) throw InputError(o.init_from, 0, "a GNAQ model needs quant.bits set as in training");
      load_gnaq(shard, trainer, o.model, o.init_from);
    } else {
      load_checkpoint(shard, trainer, o.model, o.init_from);
    }
    if (me == 0) std::printf("parameters loaded from %s\n", o.init_from.c_str());
  }
  // GNAQ without warm-up quantizes the initial (or loaded) table right away, so that an
  // evaluation-only run (train.epochs = 0) evaluates the quantized model too.
  if (o.model.quant.bits && o.model.quant.warmup_epochs == 0 && !trainer.quantized()) {
    trainer.quantize_now();
    if (me == 0) print_quant_accounting(o.model, 0);
  }
  // Halo traffic of one layer exchange (all ranks): rows sent × (d + 1 β column) × 4 bytes.
  const double halo_bytes_layer =
      static_cast<double>(comm.all_reduce_sum(static_cast<int64_t>(shard.send_list.size()))) * (o.model.dim + 1) * 4.0;
  // Fault injection for the failure tests: TKG_FAULT_INJECT=stall:R makes rank R stop calling
  // collectives (its peers must time out and end the job), fail:R makes it throw.
  if (const char* f = std::getenv("TKG_FAULT_INJECT")) {
    std::string spec(f);
    auto colon = spec.find(':');
    if (colon != std::string::npos && std::atoi(spec.c_str() + colon + 1) == me) {
      if (spec.compare(0, colon, "stall") == 0) std::this_thread::sleep_for(std::chrono::hours(1));
      if (spec.compare(0, colon, "fail") == 0) throw InternalError("injected failure (TKG_FAULT_INJECT)");
    }
  }
  const TrainOptions& t = o.train;
  const int64_t valid_lines = comm.all_reduce_sum(static_cast<int64_t>(shard.valid.items.size()));
  const OwnedUserItems& val_split = valid_lines > 0 ? shard.valid : shard.test;
  const std::string val_name = valid_lines > 0 ? "valid" : "test";
  std::unique_ptr<MetricsLog> log;
  if (me == 0) {
    log = std::make_unique<MetricsLog>(o.out_dir + "/metrics.csv", o.out_dir + "/metrics.jsonl");
    std::printf("tkg-train: %d rank(s), %s backend%s, device %s, %d thread(s)/rank; %lld users, %lld items, "
                "%lld train lines; L=%d d=%d attention=%s%s lr=%g reg=%g\n",
                P, comm.backend().c_str(),
                tensor_comm ? (", rows over " + tensor_comm->backend()).c_str() : "", o.model.device.c_str(),
                at::get_num_threads(), static_cast<long long>(shard.n_users),
                static_cast<long long>(shard.n_items), static_cast<long long>(trainer.global_lines()),
                o.model.layers, o.model.dim, o.model.attention.c_str(), o.model.use_beta ? "" : " (no beta)", t.lr,
                t.reg);
    if (P > 1) std::printf("halo exchange: %.2f MiB per layer (all ranks, d=%d + beta, fp32)\n", halo_bytes_layer / (1 << 20), o.model.dim);
    if (valid_lines == 0) std::printf("note: no validation split; model selection uses the test split\n");
    std::fflush(stdout);
  }
  const bool tty = me == 0 && P == 1 && o.progress && ::isatty(1);  // mpirun gives ranks a pty: plain lines there
  double best = -1, last_loss = 0;
  int64_t best_epoch = 0, epochs_run = 0;
  double train_s_total = 0, train_s_since = 0;
  StepTiming since{};
  for (int64_t epoch = 1; epoch <= t.epochs; ++epoch) {
    const double e0 = now_s();
    const bool was_quantized = trainer.quantized();
    last_loss = trainer.train_epoch(epoch - 1);
    if (!was_quantized && trainer.quantized()) {
      // GNAQ phase 2 starts: model selection starts over, so the kept model is a quantized one.
      best = -1;
      best_epoch = 0;
      if (me == 0) print_quant_accounting(o.model, epoch);
    }
    const double es = now_s() - e0;
    train_s_total += es;
    train_s_since += es;
    epochs_run = epoch;
    if (!std::isfinite(last_loss)) {
      if (me == 0) std::fprintf(stderr, "tkg-train: error: loss is %f at epoch %lld (diverged; lower train.lr)\n",
                                last_loss, static_cast<long long>(epoch));
      return 3;
    }
    const bool eval_now = epoch % t.eval_every == 0 || epoch == t.epochs;
    if (me == 0 && o.progress && (tty || eval_now)) {
      double per = train_s_total / static_cast<double>(epoch);
      std::printf("%sepoch %lld/%lld  loss %.5f  %.3f s/epoch  ETA %s%s", tty ? "\r\033[K" : "",
                  static_cast<long long>(epoch), static_cast<long long>(t.epochs), last_loss, per,
                  fmt_duration(per * static_cast<double>(t.epochs - epoch)).c_str(), tty && !eval_now ? "" : "\n");
      std::fflush(stdout);
    }
    if (!eval_now) continue;
    const double v0 = now_s();
    MetricSums m = trainer.evaluate(val_split);
    const double eval_s = now_s() - v0;
    const double score = m.mean(t.select_metric);
    // Time split of the steps since the last row: max and mean over ranks.
    StepTiming cur = trainer.timing();
    double vals[6] = {cur.compute_s - since.compute_s, cur.comm_s - since.comm_s,
                      static_cast<double>(cur.bytes_sent - since.bytes_sent),
                      static_cast<double>(cur.bytes_halo - since.bytes_halo),
                      static_cast<double>(cur.bytes_negatives - since.bytes_negatives),
                      static_cast<double>(cur.negatives_fetched - since.negatives_fetched)};
    since = cur;
    double sums[6] = {vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]}, maxs[2] = {vals[0], vals[1]};
    comm.all_reduce_sum(sums, 6);
    comm.all_reduce_max(maxs, 2);
    if (me == 0) {
      auto cols = std::vector<std::pair<std::string, double>>{
          {"epoch", static_cast<double>(epoch)}, {"loss", last_loss},        {"train_s", train_s_since},
          {"eval_s", eval_s},                     {"comm_s", maxs[1]},         {"bytes_sent", sums[2]},
          {"bytes_halo", sums[3]},                {"bytes_negatives", sums[4]}, {"negatives_fetched", sums[5]},
          {"compute_s_max", maxs[0]},             {"compute_s_mean", sums[0] / P}, {"comm_s_mean", sums[1] / P},
          // Waiting caused by load imbalance: the slowest rank's compute minus the mean.
          {"imbalance_s", maxs[0] - sums[0] / P}};
      auto mc = metric_columns(m);
      cols.insert(cols.end(), mc.begin(), mc.end());
      log->add({{"split", val_name}}, cols);
      std::printf("  %s @ epoch %lld: %s %.4f  recall_capped@%d %.4f  recall@%d %.4f  (eval %.2f s)%s\n",
                  val_name.c_str(), static_cast<long long>(epoch), t.select_metric.c_str(), score, t.ks.back(),
                  m.mean("recall_capped@" + std::to_string(t.ks.back())), t.ks.back(),
                  m.mean("recall@" + std::to_string(t.ks.back())), eval_s, score > best ? "  *" : "");
      std::fflush(stdout);
    }
    train_s_since = 0;
    if (score > best) {
      best = score;
      best_epoch = epoch;
      trainer.save_best();
    } else if (epoch - best_epoch >= t.patience) {
      if (me == 0) std::printf("early stop: no %s improvement for %lld epochs\n", t.select_metric.c_str(),
                               static_cast<long long>(epoch - best_epoch));
      break;
    }
  }
  trainer.restore_best();
  const int64_t kkeep = std::max<int64_t>(t.topk_export, t.ks.back());
  TopKAccumulator acc(shard.n_own_users, static_cast<int>(kkeep));
  const double v0 = now_s();
  MetricSums test = trainer.evaluate(shard.test, &acc);
  const double eval_s = now_s() - v0;
  if (me == 0) {
    auto cols = std::vector<std::pair<std::string, double>>{{"epoch", static_cast<double>(best_epoch)},
                                                            {"loss", last_loss},
                                                            {"train_s", 0.0},
                                                            {"eval_s", eval_s},
                                                            {"comm_s", 0.0},
                                                            {"bytes_sent", 0.0},
                                                            {"bytes_halo", 0.0},
                                                            {"bytes_negatives", 0.0},
                                                            {"negatives_fetched", 0.0},
                                                            {"compute_s_max", 0.0},
                                                            {"compute_s_mean", 0.0},
                                                            {"comm_s_mean", 0.0},
                                                            {"imbalance_s", 0.0}};
    auto mc = metric_columns(test);
    cols.insert(cols.end(), mc.begin(), mc.end());
    log->add({{"split", "test"}}, cols);
  }
  if (o.save_checkpoint) save_checkpoint(shard, trainer, o.model, best_epoch, o.out_dir + "/checkpoint", comm);
  if (trainer.quantized()) export_gnaq(shard, trainer, o.model, o.out_dir + "/model.gnaq", comm);
  at::Tensor final = trainer.final_embeddings();
  if (o.export_embeddings) export_embeddings(shard, final, o.out_dir + "/embeddings", comm);
  export_topk(shard, acc, t.topk_export, o.out_dir + "/topk.tsv", comm);
  const double peak = comm.all_reduce_max(peak_rss_mb());
  const StepTiming& tm = trainer.timing();
  double comm_total = comm.all_reduce_max(tm.comm_s);
  if (me == 0) {
    JsonWriter w;
    w.begin_object();
    w.key("best_epoch").value(best_epoch);
    w.key("epochs_run").value(epochs_run);
    w.key("seconds_per_epoch").value(epochs_run ? train_s_total / static_cast<double>(epochs_run) : 0.0);
    w.key("comm_seconds_per_epoch").value(epochs_run ? comm_total / static_cast<double>(epochs_run) : 0.0);
    w.key("total_seconds").value(now_s() - t_start);
    w.key("ranks").value(static_cast<int64_t>(P));
    w.key("device").value(o.model.device);
    w.key("tensor_backend").value(tensor_comm ? tensor_comm->backend() : comm.backend());
    w.key("halo_bytes_per_layer").value(halo_bytes_layer);
    if (o.model.quant.bits) {
      QuantBytes qb = quant_bytes(o.model);
      w.key("quant_bits").value(static_cast<int64_t>(o.model.quant.bits));
      w.key("model_bytes_per_node").value(qb.model_quant);
      w.key("model_bytes_per_node_fp32").value(qb.model_fp32);
      w.key("train_state_bytes_per_node").value(qb.state_quant);
      w.key("train_state_bytes_per_node_fp32").value(qb.state_fp32);
      w.key("layer0_wire_bytes_per_halo_row").value(o.model.quant.fp8_halo ? qb.wire_quant : qb.wire_fp32);
      w.key("layer0_wire_bytes_per_halo_row_fp32").value(qb.wire_fp32);
    }
    w.key("threads_per_rank").value(static_cast<int64_t>(at::get_num_threads()));
    w.key("peak_rss_mb").value(peak);
    w.key("validation_split").value(val_name);
    w.key("best_" + t.select_metric).value(best);
    w.key("test").begin_object();
    w.key("users").value(test.users);
    for (const std::string& name : test.names()) w.key(name).value(test.mean(name));
    w.end_object();
    w.end_object();
    write_file_atomic(o.out_dir + "/summary.json", w.str());
    std::printf("\ntest at best %s epoch %lld (%lld users):\n  %-4s %10s %10s %14s %10s\n", val_name.c_str(),
                static_cast<long long>(best_epoch), static_cast<long long>(test.users), "K", "precision", "recall",
                "recall_capped", "ndcg");
    for (int k : t.ks) {
      std::string s = "@" + std::to_string(k);
      std::printf("  %-4d %10.4f %10.4f %14.4f %10.4f\n", k, test.mean("precision" + s), test.mean("recall" + s),
                  test.mean("recall_capped" + s), test.mean("ndcg" + s));
    }
    std::printf("%lld epochs, %.3f s/epoch, peak RSS %.0f MiB; outputs in %s\n", static_cast<long long>(epochs_run),
                epochs_run ? train_s_total / static_cast<double>(epochs_run) : 0.0, peak, o.out_dir.c_str());
  }
  return 0;
}

}  // namespace tkg
