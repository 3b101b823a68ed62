// Fault injection for the failure tests (environment TKG_FAULT_INJECT=ACTION@WHERE:RANK):
//   ACTION: die (the process is killed: SIGKILL), stall (it stops answering: sleeps an hour),
//           fail (it throws InternalError, which ends the job with its message)
//   WHERE:  start (before the training loop), forward (inside the first halo exchange of the
//           first training step), backward (inside the first reverse halo exchange),
//           partition (rank 0's on-the-fly partition, after reading the dataset),
//           shard-write (a distributed tkg-partition's process, before it writes a shard)
// The older forms stall:R and fail:R mean ACTION@start:R. Each point fires once per process.
// Unset (every real run), fault_point costs one branch on a cached flag.
#pragma once

namespace tkg {

void fault_point(const char* where, int rank);

}  // namespace tkg
