// tkg-train: TopKGAT training on one rank (P = 1) or many (mpirun/srun, see launch/).
// A failure on any rank ends every rank with a message naming it (MPI_Abort): no hang.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <torch/version.h>

#include "common/memory.hpp"
#include "app/config.hpp"
#include "app/shard_source.hpp"
#include "common/version.hpp"
#include "partition/partitioner.hpp"
#include "comm/communicator.hpp"
#include "comm/mpi_comm.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "run/memory_check.hpp"
#include "run/run.hpp"
#include "shard/partition_dir.hpp"

#ifdef TKG_HAVE_NCCL
#include "comm/nccl_comm.hpp"
#include "comm/nccl_communicator.hpp"
#endif

int main(int argc, char** argv) {
  tkg::tune_allocator();  // large blocks back to the kernel when freed (common/memory.hpp)
  const auto start = std::chrono::steady_clock::now();
  tkg::MpiSession mpi(&argc, &argv);
  const int P = mpi.world_size();
  const std::string name = P > 1 ? "tkg-train[rank " + std::to_string(mpi.world_rank()) + "]" : "tkg-train";
  int code = tkg::run_tool(name, [&]() {
    // Under srun, a PMI mismatch silently starts N jobs of size 1: refuse to run that way.
    if (const char* n = std::getenv("SLURM_STEP_NUM_TASKS")) {
      if (std::atoi(n) != P)
        throw tkg::InputError("srun", 0, "Slurm started " + std::string(n) + " tasks but MPI sees a world of " +
                                             std::to_string(P) + " (launch with srun --mpi=pmix for OpenMPI)");
    }
    tkg::ParsedConfig pc = tkg::parse_train_config(argc, argv);
    if (pc.help) {
      if (mpi.world_rank() == 0) std::cout << pc.help_text;
      return 0;
    }
    // GPU training calls MPI from the autograd engine's device thread (the backward exchanges).
    if (pc.run.model.device != "cpu" && !mpi.serialized())
      throw tkg::InputError("MPI", 0, "this MPI provides " + mpi.thread_level_name() +
                                          "; GPU training needs MPI_THREAD_SERIALIZED (build Open MPI with thread support)");
    pc.run.mpi_thread_level = mpi.thread_level_name();
    for (int k = 0; k < argc; ++k) pc.run.command_line += (k ? " " : "") + std::string(argv[k]);
    pc.run.build_info = {{"commit", tkg::build_version()},
                         {"libtorch", TORCH_VERSION},
                         {"mpi", mpi.library_version()},
                         {"metis", tkg::metis_version()},
#ifdef TKG_HAVE_NCCL
                         {"nccl", tkg::nccl_version_string()},
#else
                         {"nccl", "not built"},
#endif
                         {"compiler", __VERSION__}};
    mpi.set_finalize_timeout(pc.run.comm_timeout_s);
    auto comm = P > 1 ? tkg::make_mpi_communicator(pc.run.comm_timeout_s) : tkg::make_self_communicator();
    // Rows of a GPU model travel over NCCL (MPI stays the control plane), when this build has it.
    std::unique_ptr<tkg::Communicator> row_comm;  // moves the model's rows (NCCL), when not the MPI communicator
#ifdef TKG_HAVE_NCCL
    if (pc.run.model.device != "cpu" && pc.run.tensor_comm != "mpi") {
      // NCCL needs a GPU of its own per rank; where ranks share one, auto falls back to MPI on
      // every rank alike (the check is collective).
      const bool own = tkg::each_rank_has_own_gpu(*comm);
      if (!own && pc.run.tensor_comm == "nccl")
        throw tkg::InputError("train.tensor_comm", 0, "nccl needs one GPU per rank; some ranks share a GPU or have none");
      if (own) row_comm = tkg::make_nccl_communicator(*comm, pc.run.comm_timeout_s);
    }
#else
    if (pc.run.tensor_comm == "nccl")
      throw tkg::InputError("train.tensor_comm", 0, "nccl requested but this build has no NCCL (TKG_WITH_NCCL)");
#endif
    pc.run.base_rss_bytes = tkg::current_rss_bytes();
    // --plan-memory in one process for a partition of several parts: count the shard files.
    if (pc.run.plan_memory && P == 1 && !pc.run.partition_dir.empty() &&
        tkg::read_partition_meta(pc.run.partition_dir).parts > 1)
      return tkg::print_partition_plan(pc.run, pc.run.base_rss_bytes);
    tkg::Shard shard = tkg::obtain_rank_shard(pc.run, *comm);
    pc.run.setup_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return tkg::run_training(pc.run, shard, *comm, row_comm.get());
  });
  if (code != 0 && P > 1) tkg::mpi_abort_job(name + " failed with exit code " + std::to_string(code), code);
  return code;
}
