// The communication interface of the trainer (DESIGN §4 "Communication layer"). Knows buffers
// and peers only: no graph, no model, no torch.
//
// CONTRACT: every rank calls every collective in the same order with matching arguments,
// including calls in which it sends or receives zero elements. A skipped call hangs the job.
//
// Buffers are host memory unless device() says otherwise (NCCL: device memory). Counts are elements (64-bit); implementations chunk messages that
// would exceed 2^31-1 elements.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tkg {

enum class DType { kFloat32, kFloat64, kInt64, kUInt8, kUInt16 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

// The collectives of the interface (numbered on the wire: MPI tags carry the kind and the sequence).
enum class Collective : uint8_t {
  kAllToAllV = 1,
  kAllToAllVStarted = 2,
  kAllGatherV = 3,
  kAllReduceSum = 4,
  kAllReduceMax = 5,
  kBroadcast = 6,
  kBarrier = 7,
};
const char* collective_name(Collective c);

// What a collective's bytes are for, so traffic can be reported per purpose (halo exchanges vs
// negative-sample fetches vs evaluation). Set by the caller (TrafficScope); kOther by default.
enum class Traffic : int { kOther = 0, kHalo, kNegatives, kEval, kCount };

// A collective started by Communicator::start_all_to_all_v and not yet finished. Its buffers must
// stay alive and untouched until wait() returns; the destructor waits (a started exchange is
// always completed, so every rank's calls still pair up).
class PendingExchange {
 public:
  virtual ~PendingExchange() = default;
  // Lets the transfer advance without blocking (MPI progresses messages only inside its calls);
  // returns whether it has completed. Cheap enough to call between blocks of compute.
  virtual bool test() = 0;
  // Blocks until the transfer is complete (bounded: a dead peer ends the job like any collective).
  virtual void wait() = 0;
};

struct CommStats {
  double seconds = 0;         // wall time inside collectives (communication + waiting)
  uint64_t bytes_sent = 0;    // payload bytes this rank sent to other ranks
  uint64_t calls = 0;
  uint64_t bytes_by_traffic[static_cast<int>(Traffic::kCount)] = {};  // bytes_sent split by purpose
  uint64_t bytes(Traffic t) const { return bytes_by_traffic[static_cast<int>(t)]; }
};

class Communicator {
 public:
  Communicator();  // reads TKG_DEBUG_COLLECTIVES
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // Ranks of this job on this node, and this rank's index among them (device selection, threads).
  virtual int local_rank() const { return 0; }
  virtual int local_size() const { return 1; }
  // Where the buffers of this communicator's calls live: -1 = host memory (self, MPI), else the
  // CUDA device index (NCCL). Callers with tensors elsewhere stage them (model/collective_ops).
  virtual int device() const { return -1; }

  // All-to-all-v: send_counts[p] elements from `send` (packed by peer, in rank order) go to peer p;
  // recv_counts[p] elements from peer p land in `recv` (packed by peer). Counts must agree
  // pairwise (my send_counts[p] == p's recv_counts[me]). The self block is copied locally.
  virtual void all_to_all_v(const void* send, const std::vector<int64_t>& send_counts, void* recv,
                            const std::vector<int64_t>& recv_counts, DType type) = 0;
  // The same all-to-all-v, started now and finished by the returned handle's wait(), so that
  // compute can run while the rows are in flight (docs/scaling.md §3). No other collective of
  // this communicator may be called until it is finished (checked). Its time in stats() is the
  // time spent starting, testing and waiting, not the time the transfer was in flight. The default
  // runs the blocking call at once (self; NCCL, whose wait blocks the host until its stream is done).
  virtual std::unique_ptr<PendingExchange> start_all_to_all_v(const void* send, const std::vector<int64_t>& send_counts,
                                                              void* recv, const std::vector<int64_t>& recv_counts,
                                                              DType type);
  // All-gather-v: each rank contributes `count` elements; recv holds all contributions in rank
  // order, recv_counts[p] from rank p (recv_counts[me] == count).
  virtual void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& recv_counts,
                            DType type) = 0;
  virtual void all_reduce_sum(double* data, int64_t n) = 0;
  virtual void all_reduce_sum(int64_t* data, int64_t n) = 0;
  virtual void all_reduce_max(double* data, int64_t n) = 0;
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;

  // Convenience: gather one int64 from every rank.
  std::vector<int64_t> all_gather_one(int64_t v);
  double all_reduce_sum(double v) {
    all_reduce_sum(&v, 1);
    return v;
  }
  int64_t all_reduce_sum(int64_t v) {
    all_reduce_sum(&v, 1);
    return v;
  }
  double all_reduce_max(double v) {
    all_reduce_max(&v, 1);
    return v;
  }

  CommStats& stats() { return stats_; }

  // Purpose of the bytes of the following calls; returns the previous one.
  Traffic set_traffic(Traffic t) {
    Traffic old = traffic_;
    traffic_ = t;
    return old;
  }
  Traffic traffic() const { return traffic_; }

  // The call site whose collectives follow ("negative_fetch.backward"), for error messages and the
  // debug fingerprint; CollectiveSite sets it. Returns the previous one.
  std::string set_site(std::string site);
  const std::string& site() const { return site_; }
  // Collectives called so far on this communicator: the sequence number of the last one. Every rank
  // numbers its calls alike (the contract), so a number names the same collective on every rank.
  uint64_t sequence() const { return seq_; }
  // With TKG_DEBUG_COLLECTIVES=1 (or set here) every collective first all-gathers a fingerprint
  // (kind, sequence, type, counts, call site) and the first mismatch throws CommError on every
  // rank, naming each rank's collective and caller (in the spirit of TORCH_DISTRIBUTED_DEBUG=DETAIL).
  void set_debug_collectives(bool on) { debug_ = on; }
  bool debug_collectives() const { return debug_; }

 protected:
  // Every collective of a backend starts with this: numbers it, and in debug mode compares its
  // fingerprint across ranks first. counts: per-peer send/receive counts (all-to-all-v), receive
  // counts (all-gather-v) or null; n: elements (reductions, own all-gather block) or bytes
  // (broadcast); root: broadcast root. Returns the call's sequence number.
  uint64_t enter(Collective kind, DType type, const std::vector<int64_t>* send_counts,
                 const std::vector<int64_t>* recv_counts, int64_t n, int root = -1);
  // "all_to_all_v #12 from 'negative_fetch.backward'": the collective numbered seq, of this rank.
  std::string describe(Collective kind, uint64_t seq) const;
  // The all-gather of one fixed-size block per rank that the debug check uses (not numbered, not
  // checked itself). The default is a world of one.
  virtual void gather_fingerprints(const void* mine, int64_t bytes, void* all);

  // Backends call this for every payload byte count they send to another rank.
  void count_sent(uint64_t bytes) {
    stats_.bytes_sent += bytes;
    stats_.bytes_by_traffic[static_cast<int>(traffic_)] += bytes;
  }

  // Adds the wall time of one collective (communication + waiting) to stats_, and counts it.
  class CollectiveTimer {
   public:
    explicit CollectiveTimer(CommStats& s);
    ~CollectiveTimer();
    CollectiveTimer(const CollectiveTimer&) = delete;
    CollectiveTimer& operator=(const CollectiveTimer&) = delete;

   private:
    CommStats& stats_;
    double start_;
  };

  CommStats stats_;
  Traffic traffic_ = Traffic::kOther;

 private:
  uint64_t seq_ = 0;
  std::string site_;
  bool debug_ = false;
};

// Names the call site of the collectives of a scope (restores the previous one on exit).
class CollectiveSite {
 public:
  CollectiveSite(Communicator& c, std::string site) : c_(c), old_(c.set_site(std::move(site))) {}
  ~CollectiveSite() { c_.set_site(std::move(old_)); }
  CollectiveSite(const CollectiveSite&) = delete;
  CollectiveSite& operator=(const CollectiveSite&) = delete;

 private:
  Communicator& c_;
  std::string old_;
};

// Marks the collectives of a scope as being for `t` (restores the previous purpose on exit).
class TrafficScope {
 public:
  TrafficScope(Communicator& c, Traffic t) : c_(c), old_(c.set_traffic(t)) {}
  ~TrafficScope() { c_.set_traffic(old_); }
  TrafficScope(const TrafficScope&) = delete;
  TrafficScope& operator=(const TrafficScope&) = delete;

 private:
  Communicator& c_;
  Traffic old_;
};

// Ends the whole job after a communication failure (a timeout or an error in a collective), the
// same way for every backend (MPI, NCCL): "[rank R] MESSAGE" on stderr and exit code 4 on every
// rank. The MPI session installs MPI_Abort as the handler; without one the process exits.
// (kExitCommFailure: common/error.hpp)
[[noreturn]] void fail_job(int rank, const std::string& message);
using JobAbortHandler = void (*)(const std::string& message, int code);
JobAbortHandler set_job_abort_handler(JobAbortHandler handler);  // returns the previous one

// A world of one rank (P = 1): collectives are local copies.
std::unique_ptr<Communicator> make_self_communicator();

// Local rank from the launcher's environment (TKG_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK,
// MPI_LOCALRANKID, SLURM_LOCALID: the first set wins, so mpirun's own local rank beats a
// SLURM_LOCALID inherited from the batch step), else `fallback` (the shared-memory split).
// Chooses the GPU of a rank: local rank modulo the visible devices.
int local_rank_from_env(int fallback);

}  // namespace tkg
