// tkg-project: what each rank of a distributed step computes and moves, measured one shard after
// another in one process (no MPI needed), for scaling projections (scripts/project_scaling.py).
//   tkg-project --partition PDIR [--partition PDIR ...] [--layers L --dim D --attention A]
//               [--threads T] [--reps R] --out FILE.csv
// One CSV row per (partition, rank): the shard's sizes, its halo-exchange and negative-fetch
// volumes, and the seconds of its step by phase (shard_probe.hpp). With --calibrate under mpirun
// -np 2 it instead times the communicator's all-to-all-v from 8 B to 64 MiB (latency and
// bandwidth of this machine for the model).
#include <ATen/Parallel.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "comm/communicator.hpp"
#include "comm/mpi_comm.hpp"
#include "common/cli.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "project/shard_probe.hpp"
#include "shard/partition_dir.hpp"

namespace po = boost::program_options;

namespace {

// Median seconds of an all-to-all-v in which every rank sends `bytes` to each other rank.
double time_exchange(tkg::Communicator& c, int64_t bytes, int reps) {
  const int P = c.size();
  std::vector<int64_t> counts(static_cast<size_t>(P), bytes);
  counts[static_cast<size_t>(c.rank())] = 0;
  std::vector<uint8_t> send(static_cast<size_t>(bytes * P), 1), recv(static_cast<size_t>(bytes * P));
  std::vector<double> ts;
  for (int r = 0; r <= reps; ++r) {
    c.barrier();
    const double t0 = tkg::now_s();
    c.all_to_all_v(send.data(), counts, recv.data(), counts, tkg::DType::kUInt8);
    if (r > 0) ts.push_back(tkg::now_s() - t0);
  }
  std::sort(ts.begin(), ts.end());
  return c.all_reduce_max(ts[ts.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  tkg::MpiSession mpi(&argc, &argv);
  return tkg::run_tool("tkg-project", [&]() {
    std::vector<std::string> parts;
    std::string out, attention = "topk";
    int layers = 3, dim = 64, threads = 1, reps = 2;
    uint64_t seed = 2026;
    double reg = 1e-4;
    bool calibrate = false;
    po::options_description desc("tkg-project: per-rank compute and traffic of the distributed step, shard by shard\nOptions");
    desc.add_options()
      ("help,h", "show this help")
      ("partition", po::value(&parts)->composing(), "partition directory (tkg-partition --out); repeat for several P")
      ("out", po::value(&out), "CSV to write (atomically)")
      ("layers", po::value(&layers)->default_value(layers), "TopKGAT layers L")
      ("dim", po::value(&dim)->default_value(dim), "embedding width d")
      ("attention", po::value(&attention)->default_value(attention), "topk | one | relu")
      ("reg", po::value(&reg)->default_value(reg), "λ of the L2 term")
      ("seed", po::value(&seed)->default_value(seed), "seed of the negative sampler")
      ("threads", po::value(&threads)->default_value(threads), "intra-op threads of one rank")
      ("reps", po::value(&reps)->default_value(reps), "timed steps per shard (the fastest is kept; one warm-up first)")
      ("calibrate", po::bool_switch(&calibrate), "under mpirun -np 2: time all-to-all-v sizes instead");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      if (mpi.world_rank() == 0) std::cout << desc;
      return 0;
    }
    po::notify(vm);
    if (out.empty()) throw tkg::InputError("--out", 0, "an output CSV is required");
    std::ostringstream csv;
    if (calibrate) {
      auto comm = mpi.world_size() > 1 ? tkg::make_mpi_communicator(60.0) : tkg::make_self_communicator();
      if (comm->size() < 2) throw tkg::InputError("--calibrate", 0, "run under mpirun -np 2 (or more)");
      csv << "ranks,bytes_per_peer,seconds\n";
      for (int64_t b = 8; b <= (int64_t{64} << 20); b *= 4) {
        const int reps_b = b < (1 << 20) ? 50 : 8;
        const double t = time_exchange(*comm, b, reps_b);
        csv << comm->size() << "," << b << "," << t << "\n";
      }
      if (comm->rank() == 0) {
        tkg::write_file_atomic(out, csv.str());
        std::cout << csv.str();
      }
      return 0;
    }
    if (mpi.world_size() != 1) throw tkg::InputError("tkg-project", 0, "runs in one process (no mpirun) unless --calibrate");
    if (parts.empty()) throw tkg::InputError("--partition", 0, "at least one partition directory is required");
    if (layers < 0 || dim < 1 || threads < 1 || reps < 0) throw tkg::InputError("tkg-project", 0, "bad --layers/--dim/--threads/--reps");
    at::set_num_threads(threads);
    tkg::ModelOptions m;
    m.layers = layers;
    m.dim = dim;
    m.attention = attention;
    tkg::TrainOptions t;
    t.seed = seed;
    t.reg = reg;
    csv << "parts,rank,n_own,n_halo,nnz,nnz_halo,lines,send_rows,recv_rows,send_peers,recv_peers,fetched,"
           "sample_s,plan_s,forward_s,loss_s,backward_s,optimizer_s,total_s,layers,dim,threads\n";
    for (const std::string& dir : parts) {
      const tkg::PartitionMeta meta = tkg::read_partition_meta(dir);
      const double t0 = tkg::now_s();
      double last_print = 0;
      for (int32_t r = 0; r < meta.parts; ++r) {
        const tkg::Shard s = tkg::load_partition_shard(dir, r);
        const tkg::ShardProbe p = tkg::probe_shard(s, m, t, reps);
        csv << p.parts << "," << p.rank << "," << p.n_own << "," << p.n_halo << "," << p.nnz << "," << p.nnz_halo << ","
            << p.lines << "," << p.send_rows << "," << p.recv_rows << "," << p.send_peers << "," << p.recv_peers << ","
            << p.fetched << "," << p.sample_s << "," << p.plan_s << "," << p.forward_s << "," << p.loss_s << ","
            << p.backward_s << "," << p.optimizer_s << "," << p.total_s << "," << layers << "," << dim << ","
            << threads << "\n";
        const double el = tkg::now_s() - t0;
        if (el - last_print >= 5 || r + 1 == meta.parts) {  // progress at most every 5 s
          std::fprintf(stderr, "tkg-project: %s rank %d/%d done (%.0f s, about %.0f s left)\n", dir.c_str(), r + 1,
                       meta.parts, el, el / (r + 1) * (meta.parts - r - 1));
          last_print = el;
        }
      }
    }
    tkg::write_file_atomic(out, csv.str());
    return 0;
  });
}
