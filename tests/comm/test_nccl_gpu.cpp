// NCCL backend on GPUs, under mpirun (MPI is the control plane that carries the unique id).
// Needs one GPU per rank on the node; with fewer (a CPU-only machine, or P ranks sharing one GPU,
// which NCCL does not support) every rank skips together. Each check runs the same collective
// on device buffers through NCCL and on host buffers through the MPI backend and compares them.
// docs/gpu.md records the runs on a GPU machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "../support/mpi_fixture.hpp"
#include "comm/cuda_check.hpp"
#include "comm/nccl_comm.hpp"
#include "comm/nccl_communicator.hpp"

using tkg::DType;
using tkg::testing::world;

namespace {

// True on every rank when every rank has a GPU of its own (decided together: a skip on some
// ranks only would leave the others waiting in a collective).
bool gpus_for_all_ranks() {
  static const bool ok = tkg::each_rank_has_own_gpu(world());
  return ok;
}

tkg::Communicator& nccl() {
  static std::unique_ptr<tkg::Communicator> c = tkg::make_nccl_communicator(world(), /*timeout_s=*/120);
  return *c;
}

#define REQUIRE_GPUS()                                                                   \
  if (!gpus_for_all_ranks()) GTEST_SKIP() << "needs one GPU per rank on every node"

// A device buffer of `n` elements of T (cudaMalloc), filled from / read back to host vectors.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) { TKG_CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    if (n_) TKG_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() { return static_cast<T*>(p_); }
  std::vector<T> host() const {
    std::vector<T> out(n_);
    if (n_) TKG_CUDA_CHECK(cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return out;
  }

 private:
  void* p_ = nullptr;
  size_t n_;
};

template <typename T>
T value(int s, int r, int64_t k) {
  return static_cast<T>(s * 101 + r * 37 + (k % 89));
}

// all_to_all_v with counts count(sender, receiver) through NCCL (device) and MPI (host).
template <typename T>
void check_all_to_all(const std::function<int64_t(int, int)>& count, DType type) {
  const int P = world().size(), me = world().rank();
  std::vector<int64_t> sc(P), rc(P);
  for (int p = 0; p < P; ++p) sc[p] = count(me, p), rc[p] = count(p, me);
  std::vector<T> send;
  for (int p = 0; p < P; ++p)
    for (int64_t k = 0; k < sc[p]; ++k) send.push_back(value<T>(me, p, k));
  const size_t nrecv = static_cast<size_t>(std::accumulate(rc.begin(), rc.end(), int64_t{0}));
  std::vector<T> expect(nrecv);
  world().all_to_all_v(send.data(), sc, expect.data(), rc, type);
  DeviceBuffer<T> dsend(send), drecv(nrecv);
  const uint64_t bytes0 = nccl().stats().bytes_sent;
  nccl().all_to_all_v(dsend.get(), sc, drecv.get(), rc, type);
  EXPECT_EQ(drecv.host(), expect);
  uint64_t off_rank = 0;
  for (int p = 0; p < P; ++p)
    if (p != me) off_rank += static_cast<uint64_t>(sc[p]) * sizeof(T);
  EXPECT_EQ(nccl().stats().bytes_sent - bytes0, off_rank);
}

}  // namespace

TEST(NcclGpu, BackendAndVersion) {
  REQUIRE_GPUS();
  EXPECT_EQ(nccl().backend(), "nccl");
  EXPECT_EQ(nccl().size(), world().size());
  EXPECT_EQ(nccl().rank(), world().rank());
  EXPECT_GE(tkg::nccl_version_code(), 21400);  // ncclCommInitRankConfig (non-blocking) needs 2.14
}

TEST(NcclGpu, AllToAllVUnevenCountsEveryDType) {
  REQUIRE_GPUS();
  auto uneven = [](int s, int r) { return static_cast<int64_t>(1 + 3 * s + 7 * r); };
  check_all_to_all<double>(uneven, DType::kFloat64);
  check_all_to_all<float>(uneven, DType::kFloat32);
  check_all_to_all<int64_t>(uneven, DType::kInt64);
  check_all_to_all<uint8_t>(uneven, DType::kUInt8);
  check_all_to_all<uint16_t>(uneven, DType::kUInt16);
}

TEST(NcclGpu, AllToAllVWithEmptyPeersAndNothingAtAll) {
  REQUIRE_GPUS();
  check_all_to_all<float>([](int s, int r) { return (s % 2 == 0 && r != 1) ? int64_t{5} : int64_t{0}; },
                          DType::kFloat32);
  check_all_to_all<float>([](int, int) { return int64_t{0}; }, DType::kFloat32);
}

TEST(NcclGpu, LongMessagesAreChunked) {
  REQUIRE_GPUS();
  tkg::set_nccl_max_chunk_elems(7);  // every message below splits into many calls in one group
  check_all_to_all<float>([](int s, int r) { return static_cast<int64_t>(1000 + 13 * s - r); }, DType::kFloat32);
  const int P = world().size();
  std::vector<double> v(100);
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<double>(world().rank() + 1) * static_cast<double>(k);
  DeviceBuffer<double> dv(v);
  nccl().all_reduce_sum(dv.get(), static_cast<int64_t>(v.size()));
  std::vector<double> got = dv.host();
  for (size_t k = 0; k < v.size(); ++k) ASSERT_DOUBLE_EQ(got[k], static_cast<double>(k) * P * (P + 1) / 2);
  tkg::set_nccl_max_chunk_elems(int64_t{1} << 30);
  EXPECT_THROW(tkg::set_nccl_max_chunk_elems(0), tkg::CommError);
}

TEST(NcclGpu, AllGatherVRankZeroContributesNothing) {
  REQUIRE_GPUS();
  const int P = world().size(), me = world().rank();
  std::vector<int64_t> counts(P);
  for (int p = 0; p < P; ++p) counts[p] = 3 * p;
  std::vector<int64_t> mine(static_cast<size_t>(3 * me));
  std::iota(mine.begin(), mine.end(), 1000 * me);
  const size_t total = static_cast<size_t>(3 * P * (P - 1) / 2);
  std::vector<int64_t> expect(total);
  world().all_gather_v(mine.data(), 3 * me, expect.data(), counts, DType::kInt64);
  DeviceBuffer<int64_t> dmine(mine), dall(total);
  nccl().all_gather_v(dmine.get(), 3 * me, dall.get(), counts, DType::kInt64);
  EXPECT_EQ(dall.host(), expect);
}

TEST(NcclGpu, ReductionsAndBroadcast) {
  REQUIRE_GPUS();
  const int P = world().size(), me = world().rank();
  DeviceBuffer<double> sum(std::vector<double>{1.5 * me, 1.0}), mx(std::vector<double>{static_cast<double>(me), -1.0 * me});
  DeviceBuffer<int64_t> isum(std::vector<int64_t>{int64_t{1} << 40, me});
  nccl().all_reduce_sum(sum.get(), 2);
  nccl().all_reduce_max(mx.get(), 2);
  nccl().all_reduce_sum(isum.get(), 2);
  EXPECT_EQ(sum.host(), (std::vector<double>{1.5 * P * (P - 1) / 2, static_cast<double>(P)}));
  EXPECT_EQ(mx.host(), (std::vector<double>{static_cast<double>(P - 1), 0.0}));
  EXPECT_EQ(isum.host(), (std::vector<int64_t>{(int64_t{1} << 40) * P, static_cast<int64_t>(P) * (P - 1) / 2}));
  // Broadcast from the last rank: everyone ends with its bytes.
  std::vector<uint8_t> bytes(1000);
  for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<uint8_t>((k * 7 + static_cast<size_t>(me)) & 0xff);
  DeviceBuffer<uint8_t> db(bytes);
  nccl().broadcast(db.get(), static_cast<int64_t>(bytes.size()), P - 1);
  std::vector<uint8_t> got = db.host();
  for (size_t k = 0; k < got.size(); ++k) ASSERT_EQ(got[k], static_cast<uint8_t>((k * 7 + static_cast<size_t>(P - 1)) & 0xff));
  nccl().barrier();
}
