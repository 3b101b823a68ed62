#include "app/config.hpp"

#include <regex>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "eval/metrics.hpp"

namespace po = boost::program_options;

namespace tkg {

namespace {

// An option's value as config-file text (numbers exactly: the shortest form that reads back).
std::string option_text(const boost::any& v) {
  if (auto* x = boost::any_cast<std::string>(&v)) return *x;
  if (auto* x = boost::any_cast<bool>(&v)) return *x ? "true" : "false";
  if (auto* x = boost::any_cast<int>(&v)) return std::to_string(*x);
  if (auto* x = boost::any_cast<int64_t>(&v)) return std::to_string(*x);
  if (auto* x = boost::any_cast<uint64_t>(&v)) return std::to_string(*x);
  if (auto* x = boost::any_cast<double>(&v)) {
    char buf[40];
    for (int prec = 6; prec <= 17; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*g", prec, *x);
      if (std::strtod(buf, nullptr) == *x) break;
    }
    return buf;
  }
  throw std::logic_error("option of a type the effective configuration cannot write");
}

}  // namespace

ParsedConfig parse_train_config(int argc, const char* const argv[]) {
  ParsedConfig pc;
  RunOptions& r = pc.run;
  ModelOptions& m = r.model;
  TrainOptions& t = r.train;
  std::string config, ks = "1,3,5,10,20", data_cli, part_cli, out_cli;
  double eval_block_mb = 64.0;
  po::options_description cli("Command line");
  cli.add_options()
    ("help,h", "show this help")
    ("plan-memory", po::bool_switch(&r.plan_memory),
     "print the memory plan (every rank's ledger and predicted peak) and stop: with one process for a "
     "whole partition directory (shard files counted, not held), or under mpirun with the ranks of a run")
    ("config", po::value(&config), "INI file with [data] [model] [train] [eval] [output] sections")
    ("data", po::value(&data_cli), "dataset directory (overrides data.dir)")
    ("partition", po::value(&part_cli), "partition directory from tkg-partition (overrides data.partition)")
    ("out", po::value(&out_cli), "run directory for outputs (overrides output.dir)");
  po::options_description file("Options (in the config file as [section] key = value, or --section.key VALUE)");
  file.add_options()
    ("data.dir", po::value(&r.data_dir), "dataset directory: train.txt, test.txt, optional valid.txt")
    ("data.partition", po::value(&r.partition_dir), "partition directory (P must equal the number of ranks)")
    ("data.format", po::value(&r.format)->default_value("auto"), "input format: auto | edges | adj")
    ("data.drop_duplicates", po::value(&r.drop_duplicates)->default_value(false), "drop repeated train lines")
    ("data.remap_ids", po::value(&r.remap_ids)->default_value(false),
     "ids are arbitrary tokens (strings, sparse or 64-bit numbers): renumber them densely; embeddings and top-K "
     "lists carry the original ids (with --partition, partition with tkg-partition --remap-ids)")
    ("data.partition_method", po::value(&r.partition_method)->default_value("metis"),
     "on-the-fly partition method when training a dataset on P > 1 ranks: metis | random | hash")
    ("data.partition_timeout", po::value(&r.partition_timeout_s)->default_value(r.partition_timeout_s),
     "seconds the other ranks wait for rank 0's on-the-fly partition (its own deadline: while it runs, rank 0 "
     "answers every 2 s, so train.comm_timeout still catches a dead rank 0)")
    ("model.layers", po::value(&m.layers)->default_value(m.layers), "propagation layers L (0 = MF)")
    ("model.dim", po::value(&m.dim)->default_value(m.dim), "embedding dimension d")
    ("model.attention", po::value(&m.attention)->default_value(m.attention),
     "topk (TopKGAT) | one (LightGCN) | relu (NGAT4Rec-like) | softmax (w/o omega ablation)")
    ("model.beta", po::value(&m.use_beta)->default_value(m.use_beta), "learnable per-user threshold beta (false: w/o beta)")
    ("model.mean_layers", po::value(&m.mean_layers)->default_value(m.mean_layers),
     "final embedding = mean of layers 0..L (LightGCN) instead of layer L")
    ("model.init_std", po::value(&m.init_std)->default_value(m.init_std), "std of the N(0, std^2) embedding init")
    ("model.bf16_halo", po::value(&m.bf16_halo)->default_value(false),
     "send the halos of layers >= 1 (and their gradients) as bfloat16")
    ("model.recompute", po::value(&m.recompute)->default_value(m.recompute),
     "what each layer keeps per edge for its backward: none (12 bytes) | weights (4 bytes; exact, cheap) | all "
     "(0; the layer's forward runs again) | auto (weights, or all when the memory plan needs it); same results")
    ("model.saved_bf16", po::value(&m.saved_bf16)->default_value(m.saved_bf16),
     "keep each layer's input and halo rows for the backward as bfloat16 (half the bytes; not exact)")
    ("model.overlap", po::value(&m.overlap)->default_value(m.overlap),
     "overlap each layer's halo exchange with its interior edges, forward and backward (P > 1)")
    ("model.fused", po::value(&m.fused)->default_value(m.fused), "fused CPU operator (false: ATen reference)")
    ("model.device", po::value(&m.device)->default_value(m.device),
     "cpu, cuda (each rank takes GPU local_rank mod GPUs) or cuda:N; cuda needs a CUDA LibTorch build")
    ("quant.bits", po::value(&m.quant.bits)->default_value(0), "GNAQ: bits per code, 1|2|4|8 (0 = fp32 table)")
    ("quant.warmup_epochs", po::value(&m.quant.warmup_epochs)->default_value(0),
     "GNAQ: fp32 TopKGAT epochs before quantizing (phase 1); 0 quantizes the initial or loaded table")
    ("quant.lr", po::value(&m.quant.lr)->default_value(m.quant.lr), "GNAQ: learning rate after quantizing (0 = train.lr)")
    ("quant.concat_levels", po::value(&m.quant.concat_levels)->default_value(false), "GNAQ: H0 = [E', S] (paper)")
    ("quant.tanh", po::value(&m.quant.tanh)->default_value(false), "GNAQ: H0 = tanh(E') (official code)")
    ("quant.dqs", po::value(&m.quant.dqs)->default_value(true), "GNAQ: sort levels after each step")
    ("quant.rau", po::value(&m.quant.rau)->default_value("off"),
     "GNAQ: code refresh: paper (neighbour mean, own boundaries) | code (propagated, uniform bins) | off")
    ("quant.rau_input", po::value(&m.quant.rau_input)->default_value(""),
     "GNAQ: override the RAU input: neighbours (mean of neighbours' rows) | propagated (final-layer row)")
    ("quant.rau_bins", po::value(&m.quant.rau_bins)->default_value(""),
     "GNAQ: override the RAU binning: levels (nearest own level) | uniform (bins over the aggregate's range)")
    ("quant.rau_every", po::value(&m.quant.rau_every)->default_value(1), "GNAQ: steps between code refreshes")
    ("quant.rank_loss", po::value(&m.quant.rank_loss)->default_value(0.0), "GNAQ: weight of the LambdaLoss-style term")
    ("quant.fp8_halo", po::value(&m.quant.fp8_halo)->default_value(true),
     "GNAQ: layer-0 halo as packed codes + FP8 levels (false: fp32 rows)")
    ("train.lr", po::value(&t.lr)->default_value(t.lr), "learning rate")
    ("train.optimizer", po::value(&t.optimizer)->default_value(t.optimizer),
     "adamw (decoupled weight decay; the TopKGAT paper) | adam (weight_decay as L2 in the gradient; LightGCN's "
     "protocol: weight_decay 0 and train.reg on the batch's layer-0 rows)")
    ("train.moments", po::value(&t.moments)->default_value(t.moments),
     "fp32 | bf16: the embedding table's Adam moments stored as bfloat16 (4 bytes per table value less; "
     "not bit-identical; CPU models)")
    ("train.lr_schedule", po::value(&t.lr_schedule)->default_value(t.lr_schedule),
     "constant | cosine (the learning rate decays as (1 + cos(pi e / epochs)) / 2 over train.epochs)")
    ("train.lr_warmup", po::value(&t.lr_warmup)->default_value(t.lr_warmup),
     "epochs of linear learning-rate warm-up: epoch e (from 0) uses (e + 1) / N of the rate")
    ("train.sampling", po::value(&t.sampling)->default_value(t.sampling),
     "lines (every train line once per epoch) | users (LightGCN's sampler: each sample's user uniform over the "
     "users, its positive uniform among the user's lines; batch_size samples per step expected)")
    ("train.negatives", po::value(&t.negatives)->default_value(t.negatives),
     "negatives per train line, each a BPR pair with the line's positive; the loss is the mean over pairs")
    ("train.reg", po::value(&t.reg)->default_value(t.reg), "lambda of the layer-0 L2 term")
    ("train.weight_decay", po::value(&t.weight_decay)->default_value(t.weight_decay), "weight decay of every parameter (adamw: decoupled; adam: L2 in the gradient)")
    ("train.epochs", po::value(&t.epochs)->default_value(t.epochs), "maximum epochs")
    ("train.batch_size", po::value(&t.batch_size)->default_value(t.batch_size), "lines per step (0 = full batch)")
    ("train.pool_size", po::value(&t.pool_size)->default_value(t.pool_size),
     "0 = exact sampler (each line's negative uniform over all items; remote ones fetched sparsely); "
     "Q > 0 = each line draws from a pool of Q items per step shared by all ranks (bounds the fetch; docs/scale.md)")
    ("train.pool_fraction", po::value(&t.pool_fraction)->default_value(0.0),
     "the shared pool as a fraction of the items (when pool_size = 0), e.g. 0.01")
    ("train.seed", po::value(&t.seed)->default_value(t.seed), "seed of init and sampling")
    ("train.threads", po::value(&r.threads)->default_value(0), "intra-op threads per rank (0 = cores / ranks on the node)")
    ("train.tensor_comm", po::value(&r.tensor_comm)->default_value(r.tensor_comm),
     "what moves the model's rows: auto (NCCL on GPUs when built with it, else MPI), mpi (device tensors staged "
     "through the host), nccl")
    ("train.comm_timeout", po::value(&r.comm_timeout_s)->default_value(600.0),
     "seconds a rank waits for its peers in one collective before aborting the job")
    ("eval.every", po::value(&t.eval_every)->default_value(t.eval_every), "validate every N epochs")
    ("eval.patience", po::value(&t.patience)->default_value(t.patience), "stop after N epochs without improvement")
    ("eval.ks", po::value(&ks)->default_value(ks), "K list, ascending, comma separated")
    ("eval.metric", po::value(&t.select_metric)->default_value(t.select_metric), "model selection metric")
    ("eval.topk", po::value(&t.topk_export)->default_value(t.topk_export), "length of exported top-K lists")
    ("train.memory_check", po::value(&t.memory_check)->default_value(t.memory_check),
     "when the memory plan does not fit the node: stop (before any large allocation, with the options that "
     "would fit) | warn (run anyway) | off (no plan)")
    ("train.host_cache_mb", po::value(&t.host_cache_mb)->default_value(t.host_cache_mb),
     "MiB of freed large blocks the CPU allocator keeps for the next step (-1 = auto: one step's worth, from the "
     "memory plan, or none when the plan would not fit with it; 0 = off: least memory, slower steps)")
    ("train.memory_headroom", po::value(&t.memory_headroom)->default_value(t.memory_headroom),
     "share of each node's available memory the memory plan leaves free (0 .. 0.5)")
    ("eval.users", po::value(&t.eval_users)->default_value(0),
     "0 = rank every user with targets; N = a fixed seeded sample of N of them (the same at any P and epoch), "
     "each ranked against all items; metrics get a 95 % confidence interval")
    ("eval.block_mb", po::value(&eval_block_mb)->default_value(64.0), "bound on one score block [users x items] in MiB")
    ("eval.ring", po::value(&t.eval_ring)->default_value(t.eval_ring),
     "what travels around the ranks in evaluation: auto (fewer bytes), items (every item row visits every rank), "
     "users (the scored users' rows and train items visit; their partial top-K lists return, so a rank holds "
     "K entries per visiting user: meant for sampled evaluations): same metrics")
    ("output.dir", po::value(&r.out_dir), "run directory")
    ("output.checkpoint", po::value(&r.save_checkpoint)->default_value(true),
     "save the best parameters to RUNDIR/checkpoint (loadable with any number of ranks)")
    ("train.resume", po::value(&r.resume),
     "continue a run: auto (the newest complete checkpoint in RUNDIR/checkpoints, if any) or a checkpoint directory")
    ("output.checkpoint_every", po::value(&r.checkpoint_every)->default_value(0),
     "resumable checkpoint every N epochs (0: at every evaluation); also at the end and on SIGTERM/SIGUSR1")
    ("output.checkpoint_interval", po::value(&r.checkpoint_interval_s)->default_value(r.checkpoint_interval_s),
     "with checkpoint_every = 0: checkpoint at an evaluation only when this many seconds have passed since the "
     "last one (0: at every evaluation); the end and stop signals always checkpoint")
    ("output.checkpoint_keep", po::value(&r.checkpoint_keep)->default_value(2), "resumable checkpoints kept (newest)")
    ("train.init_from", po::value(&r.init_from), "start from a checkpoint directory (RUNDIR/checkpoint) or a quantized model (RUNDIR/model.gnaq)")
    ("output.embeddings", po::value(&r.export_embeddings)->default_value(true), "export embeddings as .npy")
    ("output.progress", po::value(&r.progress)->default_value(true), "print progress lines")
    ("output.progress_every", po::value(&r.progress_every_s)->default_value(r.progress_every_s),
     "seconds between progress lines (epochs, long epochs' steps, long evaluations); rank 0 prints");
  po::options_description all;
  all.add(cli).add(file);
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, all), vm);
  if (vm.count("help")) {
    std::ostringstream s;
    s << "tkg-train: train TopKGAT (or LightGCN / ablations) on one or more ranks\n"
      << "Usage: tkg-train --config configs/NAME.ini [--data DIR | --partition PDIR] [--out RUNDIR] "
         "[--section.key VALUE ...]\n"
      << all;
    pc.help = true;
    pc.help_text = s.str();
    return pc;
  }
  if (vm.count("config")) {
    config = vm["config"].as<std::string>();
    std::ifstream in(config);
    if (!in) throw InputError(config, 0, "cannot open config file");
    try {
      po::store(po::parse_config_file(in, file, /*allow_unregistered=*/false), vm);
    } catch (const po::error& e) {
      throw InputError(config, 0, e.what());
    }
  }
  po::notify(vm);
  if (!data_cli.empty()) r.data_dir = data_cli, r.partition_dir.clear();
  if (!part_cli.empty()) r.partition_dir = part_cli, r.data_dir.clear();
  if (!out_cli.empty()) r.out_dir = out_cli;
  // Validation.
  auto bad = [](const std::string& opt, const std::string& what) { throw InputError(opt, 0, what); };
  if (r.data_dir.empty() == r.partition_dir.empty()) bad("--data/--partition", "give exactly one of a dataset directory or a partition directory");
  namespace fs = std::filesystem;
  if (!r.data_dir.empty() && !fs::is_directory(r.data_dir)) bad("data.dir", "dataset directory '" + r.data_dir + "' does not exist");
  if (!r.partition_dir.empty() && !fs::is_directory(r.partition_dir)) bad("data.partition", "partition directory '" + r.partition_dir + "' does not exist");
  if (r.out_dir.empty()) bad("--out", "no run directory (give --out RUNDIR or output.dir)");
  if (!r.init_from.empty() && !fs::exists(r.init_from)) bad("train.init_from", "'" + r.init_from + "' does not exist (a checkpoint directory or a model.gnaq file)");
  if (m.layers < 0 || m.layers > 16) bad("model.layers", "expected 0..16, got " + std::to_string(m.layers));
  if (m.dim < 1 || m.dim > 4096) bad("model.dim", "expected 1..4096, got " + std::to_string(m.dim));
  if (m.attention != "topk" && m.attention != "one" && m.attention != "relu" && m.attention != "softmax")
    bad("model.attention", "expected topk, one, relu or softmax, got '" + m.attention + "'");
  if (m.quant.bits != 0 && m.quant.bits != 1 && m.quant.bits != 2 && m.quant.bits != 4 && m.quant.bits != 8)
    bad("quant.bits", "expected 0 (off), 1, 2, 4 or 8, got " + std::to_string(m.quant.bits));
  if (!(m.quant.lr >= 0 && m.quant.lr < 100)) bad("quant.lr", "must be in [0, 100)");
  if (m.quant.warmup_epochs < 0) bad("quant.warmup_epochs", "must be >= 0");
  if (m.quant.rau != "paper" && m.quant.rau != "code" && m.quant.rau != "off")
    bad("quant.rau", "expected paper, code or off, got '" + m.quant.rau + "'");
  if (!m.quant.rau_input.empty() && m.quant.rau_input != "neighbours" && m.quant.rau_input != "propagated")
    bad("quant.rau_input", "expected neighbours or propagated, got '" + m.quant.rau_input + "'");
  if (!m.quant.rau_bins.empty() && m.quant.rau_bins != "levels" && m.quant.rau_bins != "uniform")
    bad("quant.rau_bins", "expected levels or uniform, got '" + m.quant.rau_bins + "'");
  if (m.quant.rau == "off" && (!m.quant.rau_input.empty() || !m.quant.rau_bins.empty()))
    bad("quant.rau", "rau = off but rau_input/rau_bins are set");
  if (m.quant.rau_every < 1) bad("quant.rau_every", "must be >= 1");
  if (!(m.quant.rank_loss >= 0)) bad("quant.rank_loss", "must be >= 0");
  if (!(m.init_std > 0)) bad("model.init_std", "must be > 0");
  if (!std::regex_match(m.device, std::regex("cpu|cuda(:[0-9]+)?")))
    bad("model.device", "expected cpu, cuda or cuda:N, got '" + m.device + "'");
  if (r.tensor_comm != "auto" && r.tensor_comm != "mpi" && r.tensor_comm != "nccl")
    bad("train.tensor_comm", "expected auto, mpi or nccl, got '" + r.tensor_comm + "'");
  if (r.tensor_comm == "nccl" && m.device == "cpu") bad("train.tensor_comm", "nccl moves GPU tensors: set model.device = cuda");
  if (!(t.lr > 0 && t.lr < 100)) bad("train.lr", "must be in (0, 100)");
  if (!(t.reg >= 0)) bad("train.reg", "must be >= 0");
  if (!(t.weight_decay >= 0)) bad("train.weight_decay", "must be >= 0");
  if (t.epochs < 0) bad("train.epochs", "must be >= 0 (0: evaluate the train.init_from checkpoint)");
  if (t.epochs == 0 && r.init_from.empty()) bad("train.epochs", "0 epochs needs train.init_from (a checkpoint to evaluate)");
  if (t.batch_size < 0) bad("train.batch_size", "must be >= 0");
  if (t.optimizer != "adamw" && t.optimizer != "adam") bad("train.optimizer", "must be adamw or adam");
  if (t.moments != "fp32" && t.moments != "bf16") bad("train.moments", "must be fp32 or bf16");
  if (t.moments == "bf16" && m.device != "cpu") bad("train.moments", "bf16 moments are implemented for CPU models only");
  if (t.negatives < 1 || t.negatives > 1024) bad("train.negatives", "must be in [1, 1024]");
  if (t.sampling != "lines" && t.sampling != "users") bad("train.sampling", "must be lines or users");
  if (t.lr_schedule != "constant" && t.lr_schedule != "cosine") bad("train.lr_schedule", "must be constant or cosine");
  if (!(t.host_cache_mb >= 0 || t.host_cache_mb == -1)) bad("train.host_cache_mb", "must be -1 (auto) or >= 0");
  if (t.lr_warmup < 0) bad("train.lr_warmup", "must be >= 0 epochs");
  if (t.pool_size < 0) bad("train.pool_size", "must be >= 0");
  if (!(t.pool_fraction >= 0 && t.pool_fraction <= 1)) bad("train.pool_fraction", "must be in [0, 1]");
  if (t.pool_size > 0 && t.pool_fraction > 0) bad("train.pool_fraction", "give pool_size or pool_fraction, not both");
  if (r.threads < 0) bad("train.threads", "must be >= 0");
  if (r.checkpoint_every < 0) bad("output.checkpoint_every", "must be >= 0");
  if (r.checkpoint_keep < 1) bad("output.checkpoint_keep", "must be >= 1");
  if (!(r.checkpoint_interval_s >= 0)) bad("output.checkpoint_interval", "must be >= 0 seconds");
  if (!r.resume.empty() && r.resume != "auto" && !fs::is_directory(r.resume))
    bad("train.resume", "expected auto or a checkpoint directory, got '" + r.resume + "'");
  if (!(r.comm_timeout_s > 0)) bad("train.comm_timeout", "must be > 0");
  if (!(r.partition_timeout_s > 0)) bad("data.partition_timeout", "must be > 0");
  if (t.eval_every < 1) bad("eval.every", "must be >= 1");
  if (t.patience < 0) bad("eval.patience", "must be >= 0");
  t.ks = parse_k_list(ks, "eval.ks");
  MetricSums probe(t.ks);
  try {
    probe.mean(t.select_metric);
  } catch (const InputError& e) {
    bad("eval.metric", std::string(e.what()).substr(std::string(e.what()).find(": ") + 2));
  }
  if (t.topk_export < 1 || t.topk_export > 1000) bad("eval.topk", "expected 1..1000");
  if (t.eval_users < 0) bad("eval.users", "must be >= 0 (0 = every user)");
  if (!(t.memory_headroom >= 0 && t.memory_headroom <= 0.5)) bad("train.memory_headroom", "expected 0 .. 0.5");
  if (t.memory_check != "stop" && t.memory_check != "warn" && t.memory_check != "off")
    bad("train.memory_check", "expected stop, warn or off");
  if (m.recompute != "auto" && m.recompute != "none" && m.recompute != "weights" && m.recompute != "all")
    bad("model.recompute", "expected auto, none, weights or all");
  if (!(eval_block_mb >= 0.01 && eval_block_mb <= 1 << 20)) bad("eval.block_mb", "expected 0.01 .. 1048576 MiB");
  if (t.eval_ring != "auto" && t.eval_ring != "items" && t.eval_ring != "users") bad("eval.ring", "expected auto, items or users");
  t.eval_block_bytes = static_cast<int64_t>(eval_block_mb * (1 << 20));
  if (!(r.progress_every_s > 0)) bad("output.progress_every", "must be > 0 seconds");
  if (r.format != "auto" && r.format != "edges" && r.format != "adj") bad("data.format", "expected auto, edges or adj");
  if (r.partition_method != "metis" && r.partition_method != "random" && r.partition_method != "hash")
    bad("data.partition_method", "expected metis, random or hash");
  // Effective configuration, for the run directory: every option of the file section with its
  // final value (command line, config file or default), so that `--config RUNDIR/config.ini`
  // reruns the run. train.resume is left out: it is an action of one invocation, not a setting.
  // Paths are written absolute, so the file works from any directory.
  auto absolute = [](const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); };
  std::map<std::string, std::string> resolved{{"data.dir", absolute(r.data_dir)},
                                              {"data.partition", absolute(r.partition_dir)},
                                              {"output.dir", absolute(r.out_dir)},
                                              {"train.init_from", absolute(r.init_from)}};
  std::ostringstream eff;
  eff << "# effective configuration of this run (tkg-train --config this-file reruns it)\n";
  std::string section;
  for (const auto& opt : file.options()) {
    const std::string& name = opt->long_name();
    if (name == "train.resume") continue;
    std::string value;
    if (auto it = resolved.find(name); it != resolved.end()) {
      value = it->second;
    } else if (vm.count(name)) {
      value = option_text(vm[name].value());
    } else {
      continue;  // unset and without a default
    }
    if (value.empty()) continue;
    const std::string sec = name.substr(0, name.find('.')), key = name.substr(name.find('.') + 1);
    if (sec != section) eff << "[" << (section = sec) << "]\n";
    eff << key << " = " << value << "\n";
  }
  r.config_text = eff.str();
  return pc;
}

}  // namespace tkg
