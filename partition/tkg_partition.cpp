// tkg-partition: METIS (or random/hash) partition of the user-item train graph into P shards, in
// one process; or, with --method ptscotch or under mpirun -n R, the distributed partition
// (partition/distributed_job.hpp): R processes, each reading a slice, none holding the graph.
#include <boost/program_options.hpp>
#include <cstdlib>
#include <memory>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>

#include "comm/agreed_error.hpp"
#include "comm/mpi_comm.hpp"
#include "common/memory.hpp"
#include "common/phase_progress.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/dataset.hpp"
#include "partition/distributed_job.hpp"
#include "partition/partition_job.hpp"
#include "partition/ptscotch_partitioner.hpp"
#include "shard/partition_dir.hpp"

namespace po = boost::program_options;

namespace {

// Whether a launcher (mpirun, srun --mpi=pmix) started this process: then tkg-partition joins
// the MPI job, and runs the distributed partition when the job has more than one process.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

// The per-rank table and the summary line (rank 0 of a distributed partition, or the one process).
void print_summary(const tkg::PartitionMeta& meta, const std::string& out, double part_secs, double total, bool quiet) {
  const auto& s = meta.stats;
  const char* engine = meta.method == "metis" ? "METIS" : meta.method == "ptscotch" ? "PT-Scotch" : "assignment";
  if (!quiet) {
    std::printf("partition: %s, P=%d, ncon=%d, objective=%s, seed=%llu (%s %.2f s", meta.method.c_str(), meta.parts,
                meta.ncon, meta.objective.c_str(), static_cast<unsigned long long>(meta.seed), engine, part_secs);
    if (!meta.peak_rss_mb_per_process.empty()) std::printf(", %d processes", meta.processes);
    std::printf(")\n");
    std::printf("  %-6s %12s %12s %12s %14s\n", "rank", "owned", "users", "halo", "local edges");
    for (int32_t r = 0; r < meta.parts; ++r)
      std::printf("  %-6d %12lld %12lld %12lld %14lld\n", r, static_cast<long long>(s.owned_per_rank[r]),
                  static_cast<long long>(s.owned_users_per_rank[r]), static_cast<long long>(s.halo_per_rank[r]),
                  static_cast<long long>(s.local_edges_per_rank[r]));
  }
  std::printf("%s: edge_cut %lld (%.2f %%), halo total %lld max %lld, node imbalance %.3f, edge imbalance %.3f, "
              "halo %.2f MiB/layer (d=64 fp32), %.2f s, peak RSS %.0f MiB",
              out.c_str(), static_cast<long long>(s.edge_cut), s.edge_cut_pct, static_cast<long long>(s.halo_total),
              static_cast<long long>(s.halo_max), s.node_imbalance, s.edge_imbalance,
              static_cast<double>(s.halo_bytes_per_layer) / (1 << 20), total, meta.peak_rss_mb);
  if (!meta.peak_rss_mb_per_process.empty()) std::printf(" (largest of %d processes)", meta.processes);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  tkg::tune_allocator();  // large blocks back to the kernel when freed (common/memory.hpp)
  std::unique_ptr<tkg::MpiSession> mpi;
  return tkg::run_tool("tkg-partition", [&]() {
    std::string data, file, out, method, format;
    double timeout_s = 1800;
    uint64_t split_seed = 2026;
    tkg::PartitionOptions popts;
    bool force = false, drop_dup = false, quiet = false, remap = false;
    po::options_description desc("tkg-partition: partition a dataset's train graph into P shards\nOptions");
    desc.add_options()
      ("help,h", "show this help")
      ("data", po::value(&data), "dataset directory (train.txt, test.txt, optional valid.txt)")
      ("file", po::value(&file), "instead of --data: one interaction file, split 7:1:2 with --split-seed")
      ("split-seed", po::value(&split_seed)->default_value(split_seed), "seed of the 7:1:2 split of --file")
      ("format", po::value(&format)->default_value("auto"), "input format: auto | edges | adj")
      ("drop-duplicates", po::bool_switch(&drop_dup), "drop repeated (user, item) lines (kept by default)")
      ("remap-ids", po::bool_switch(&remap), "ids are arbitrary tokens (strings, sparse numbers): renumber them densely "
                                             "and write the original ids to PDIR/user_ids.txt, item_ids.txt")
      ("parts", po::value(&popts.parts)->required(), "number of parts P (ranks)")
      ("method", po::value(&method)->default_value("metis"),
       "metis | random | hash (one process), ptscotch (distributed: run under mpirun -n R, or alone; also hash)")
      ("ncon", po::value(&popts.ncon)->default_value(2), "METIS constraints: 1 = node count, 2 = node count and degree "
                                                         "(ptscotch: one load, 1 + degree x nodes/entries)")
      ("scotch-strategy", po::value(&popts.scotch_strategy)->default_value(popts.scotch_strategy),
       "ptscotch: fast | quality | speed | balance | scalability | default (SCOTCH_STRAT* of SCOTCH_stratDgraphMapBuild; "
       "fast: quality with bounded refinement passes), or a Scotch strategy string")
      ("timeout", po::value(&timeout_s)->default_value(timeout_s), "distributed: seconds a process waits for its peers "
                                                                     "in one collective before the job ends")
      ("objective", po::value(&popts.objective)->default_value("cut"), "METIS objective: cut | vol")
      ("imbalance", po::value(&popts.imbalance)->default_value(popts.imbalance), "allowed max/avg load per constraint")
      ("seed", po::value(&popts.seed)->default_value(1), "seed (METIS, random)")
      ("out", po::value(&out)->required(), "partition directory to write (atomically)")
      ("force", po::bool_switch(&force), "replace --out if it exists")
      ("quiet", po::bool_switch(&quiet), "print only the one-line summary");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") || argc == 1) {
      std::cout << desc << "\nExample:\n  tkg-partition --data ../shared/data/gowalla --parts 4 --out parts/gowalla-4\n";
      return 0;
    }
    po::notify(vm);
    if (data.empty() == file.empty()) throw tkg::InputError("tkg-partition", 0, "give exactly one of --data DIR or --file FILE");
    popts.method = tkg::parse_partition_method(method);
    auto t0 = std::chrono::steady_clock::now();
    tkg::ReadOptions ro;
    ro.format = tkg::parse_text_format(format);
    ro.drop_duplicates = drop_dup;
    ro.remap_ids = remap;
    popts.progress = !quiet;
    const bool ptscotch = popts.method == tkg::PartitionMethod::kPtScotch;
    std::unique_ptr<tkg::Communicator> comm;
    if (ptscotch || launched_by_mpi()) {
      mpi = std::make_unique<tkg::MpiSession>(&argc, &argv);
      mpi->set_finalize_timeout(timeout_s);
      comm = tkg::make_mpi_communicator(timeout_s);
    }
    if (comm && (ptscotch || comm->size() > 1)) {
      const bool root = comm->rank() == 0;
      popts.progress = !quiet && root;
      try {
        if (!file.empty())
          throw tkg::AgreedError("--file (one file split 7:1:2) is read by one process: give --data DIR with train.txt and "
                                 "test.txt to partition with several processes",
                                 2, 0);
        double part_secs = 0;
        tkg::PartitionMeta meta = tkg::distributed_partition_into_dir(*comm, data, ro, popts, out, force, &part_secs);
        if (root) {
          if (!quiet && meta.method == "ptscotch") std::printf("PT-Scotch %s (64-bit SCOTCH_Num)\n", tkg::ptscotch_version().c_str());
          print_summary(meta, out, part_secs, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), quiet);
        }
        return 0;
      } catch (const tkg::AgreedError& e) {
        // Every process has this error; one prints it.
        if (root) std::cerr << "tkg-partition: " << (e.input_error() ? "error: " : "internal error: ") << e.what() << std::endl;
        return e.exit_code();
      }
    }
    if (popts.method == tkg::PartitionMethod::kMetis) {
      // Debian's METIS counts in 32 bits: 2^31 - 1 adjacency entries, both directions of each
      // distinct pair. Refused before the file is read (estimate), or at the line over the limit.
      ro.max_lines = std::numeric_limits<int32_t>::max() / 2;
      ro.max_lines_reason = "this METIS build counts adjacency entries in 32 bits (at most 2^31 - 1, two per train line, so at most "
                            "1,073,741,823 lines); use --method random|hash, or a METIS built with IDXTYPEWIDTH=64 "
                            "(a distributed partitioner is the follow-up)";
    }
    int64_t input_bytes = 0;
    for (const std::string& f : data.empty() ? std::vector<std::string>{file}
                                             : std::vector<std::string>{data + "/train.txt", data + "/valid.txt", data + "/test.txt"})
      input_bytes += tkg::file_size_or_zero(f);
    tkg::Dataset ds = [&] {
      tkg::PhaseProgress p("tkg-partition", "reading " + (data.empty() ? file : data), input_bytes, 0, !quiet);
      return data.empty() ? tkg::load_split_file(file, split_seed, ro) : tkg::load_dataset(data, ro);
    }();
    if (!quiet) std::cout << "dataset: " << tkg::describe_dataset(ds) << "\n";
    double part_secs = 0;
    const double read_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tkg::PartitionMeta meta = tkg::partition_into_dir(ds, popts, out, force, read_secs, &part_secs);
    double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_summary(meta, out, part_secs, total, quiet);
    return 0;
  });
}
