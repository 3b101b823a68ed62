#include "partition/distributed_job.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "comm/agreed_error.hpp"
#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/memory.hpp"
#include "common/phase_progress.hpp"
#include "partition/distributed_shards.hpp"
#include "partition/node_slice.hpp"
#include "partition/ptscotch_partitioner.hpp"
#include "partition/slice_reader.hpp"

namespace tkg {

namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// partition_id's sum of per-node terms over all processes, exactly mod 2^64: summed as 32-bit
// lanes (no int64 overflow in the all-reduce for fewer than 2^31 processes).
uint64_t global_partition_id(Communicator& comm, const NodeSlice& s, const std::vector<int32_t>& part, int32_t parts) {
  int64_t lanes[2] = {0, 0};
  uint64_t lo = 0, hi = 0;
  for (int64_t k = 0; k < s.count; ++k) {
    const uint64_t t = partition_id_term(s.first + k, part[k]);
    lo += t & 0xFFFFFFFFULL, hi += t >> 32;  // < 2^32 terms of < 2^32 per process: no overflow of 64 bits
  }
  // Reduce each process's lanes mod 2^32 with their carries into the high lane first.
  const uint64_t lo_carry = lo >> 32;
  lanes[0] = static_cast<int64_t>(lo & 0xFFFFFFFFULL);
  lanes[1] = static_cast<int64_t>((hi + lo_carry) & 0xFFFFFFFFULL);
  comm.all_reduce_sum(lanes, 2);
  const uint64_t L = static_cast<uint64_t>(lanes[0]), H = static_cast<uint64_t>(lanes[1]);
  const uint64_t sum = (L & 0xFFFFFFFFULL) + (((H + (L >> 32)) & 0xFFFFFFFFULL) << 32);
  return finish_partition_id(s.n_users, s.n_items, parts, sum);
}

}  // namespace

PartitionMeta distributed_partition_into_dir(Communicator& comm, const std::string& dir, const ReadOptions& read,
                                             const PartitionOptions& popts, const std::string& out, bool overwrite,
                                             double* partition_s_out) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  const int me = comm.rank(), R = comm.size();
  const bool talk = popts.progress && me == 0;
  bool have_valid = false;
  run_agreed(comm, [&] {
    if (popts.method != PartitionMethod::kPtScotch && popts.method != PartitionMethod::kHash)
      throw InputError("--method", 0, std::string("--method ") + partition_method_name(popts.method) +
                                          " partitions in one process; under mpirun use ptscotch or hash");
    if (read.remap_ids && R > 1)
      throw InputError("--remap-ids", 0, "renumbering string ids needs one dictionary; with " + std::to_string(R) +
                                             " processes it is not supported: remap once with one process, or give dense ids");
    if (me == 0) {
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) throw InputError(dir, 0, "dataset directory does not exist");
      fs::path target = fs::path(out);
      if (target.filename().empty()) target = target.parent_path();
      if (fs::exists(target, ec) && !overwrite)
        throw InputError(target.string(), 0, "output directory exists (pass --force to replace it)");
      have_valid = fs::exists(fs::path(dir) / "valid.txt", ec);
    }
  });
  int64_t hv = have_valid ? 1 : 0;
  comm.broadcast(&hv, sizeof hv, 0);
  have_valid = hv != 0;

  // 1. Every process reads its slice of each split file (train's format for all, as one process).
  std::vector<FileInfo> files;
  int64_t input_bytes = 0;
  for (const char* name : {"train.txt", "valid.txt", "test.txt"}) input_bytes += file_size_or_zero((fs::path(dir) / name).string());
  SliceRead train, valid, test;
  {
    PhaseProgress p("tkg-partition", "reading " + dir + " (" + std::to_string(R) + " processes, this one's slice)",
                    input_bytes / R, 0, talk);
    ReadOptions ro = read;
    ro.require_items = true;
    train = read_file_slice(comm, (fs::path(dir) / "train.txt").string(), "train", read.format, ro);
    ro.require_items = false;
    if (have_valid) valid = read_file_slice(comm, (fs::path(dir) / "valid.txt").string(), "valid", train.info.format, ro);
    test = read_file_slice(comm, (fs::path(dir) / "test.txt").string(), "test", train.info.format, ro);
  }
  memory_mark("partition: slices read");
  files.push_back(train.info);
  if (have_valid) files.push_back(valid.info);
  files.push_back(test.info);
  int64_t lines = 0, max_u = -1, max_i = -1;
  for (const FileInfo& f : files) lines += f.lines, max_u = std::max(max_u, f.max_user), max_i = std::max(max_i, f.max_item);
  run_agreed(comm, [&] { check_dense_ids(files, lines); });  // the same files on every rank: the same verdict
  const int64_t n_users = max_u + 1, n_items = max_i + 1;
  run_agreed(comm, [&] { check_partition_options(popts, n_users + n_items); });
  if (talk)
    std::printf("dataset: %lld users, %lld items; train %lld lines, valid %lld, test %lld (read by %d processes)\n",
                static_cast<long long>(n_users), static_cast<long long>(n_items), static_cast<long long>(train.info.lines),
                static_cast<long long>(valid.info.lines), static_cast<long long>(test.info.lines), R);

  // 2. The graph spread over the processes by node ranges.
  int64_t dropped[3] = {0, 0, 0};
  NodeSlice slice = [&] {
    PhaseProgress p("tkg-partition", "spreading the graph over the processes (node ranges)", 0,
                    4e-8 * static_cast<double>(train.info.lines) / R, talk);
    return build_node_slice(comm, n_users, n_items, train.lines, valid.lines, test.lines, read.drop_duplicates, dropped);
  }();
  memory_mark("partition: node slice built");
  size_t fk = 0;
  for (int s = 0; s < 3; ++s) {
    if (s == 1 && !have_valid) continue;
    files[fk].duplicates_dropped = dropped[s];
    files[fk].lines -= dropped[s];
    ++fk;
  }
  const int64_t n_train_lines = files.front().lines;

  // 3. The assignment.
  const auto t_part = std::chrono::steady_clock::now();
  std::vector<int32_t> part;
  {
    PhaseProgress p("tkg-partition", std::string("partitioning with ") + partition_method_name(popts.method), 0, 0, talk);
    if (popts.method == PartitionMethod::kPtScotch) {
      part = ptscotch_partition(comm, slice, popts);  // collective inside: not an agreed step (options checked above)
    } else {
      run_agreed(comm, [&] {
        part.resize(static_cast<size_t>(slice.count));
        for (int64_t k = 0; k < slice.count; ++k) part[k] = hash_part(slice.first + k, popts.seed, popts.parts);
      });
    }
  }
  const double partition_s = comm.all_reduce_max(since(t_part));
  memory_mark("partition: assigned");

  PartitionMeta meta;
  meta.n_users = n_users;
  meta.n_items = n_items;
  meta.n_train_lines = n_train_lines;
  meta.parts = popts.parts;
  meta.method = partition_method_name(popts.method);
  meta.seed = popts.seed;
  meta.ncon = popts.ncon;
  meta.objective = popts.method == PartitionMethod::kPtScotch ? "cut" : popts.objective;
  meta.imbalance = popts.imbalance;
  meta.partition_id = global_partition_id(comm, slice, part, popts.parts);
  meta.inputs = files;
  meta.processes = R;

  // 4. Shards, each by one process, into a temp directory that rank 0 renames into place.
  auto fill = [&](const std::string& tmp) {
    PhaseProgress p("tkg-partition", "building and writing shards (" + std::to_string((popts.parts + R - 1 - me) / R) +
                                         " on this process)", (popts.parts + R - 1 - me) / R, 0, talk);
    PartitionStats st;
    int64_t distinct = 0;
    st = write_distributed_shards(comm, slice, part, popts.parts, meta.partition_id, tmp, &distinct);
    meta.stats = st;
    meta.n_edges = distinct;
    const std::vector<int64_t> peaks = comm.all_gather_one(static_cast<int64_t>(peak_rss_mb()));
    meta.peak_rss_mb_per_process.assign(peaks.begin(), peaks.end());
    meta.peak_rss_mb = 0;
    for (int64_t x : peaks) meta.peak_rss_mb = std::max(meta.peak_rss_mb, static_cast<double>(x));
    meta.seconds = comm.all_reduce_max(since(t0));
    run_agreed(comm, [&] {
      if (me == 0) write_file_atomic((fs::path(tmp) / "meta.json").string(), meta_to_json(meta));
    });
  };
  std::exception_ptr failure;
  if (me == 0) {
    bool entered = false;
    try {
      write_dir_atomic(out, overwrite, [&](const std::string& tmp) {
        entered = true;
        broadcast_string(comm, tmp, 0);
        fill(tmp);
      });
    } catch (const AgreedError&) {
      throw;  // every rank throws it (write_dir_atomic removed the temp directory)
    } catch (...) {
      failure = std::current_exception();
    }
    if (!entered) broadcast_string(comm, "", 0);
  } else {
    const std::string tmp = broadcast_string(comm, "", 0);
    if (!tmp.empty()) fill(tmp);
  }
  // Rank 0's own end of it (the temp directory, the rename) decides for everyone.
  run_agreed(comm, [&] {
    if (failure) std::rethrow_exception(failure);
  });
  if (partition_s_out) *partition_s_out = partition_s;
  return meta;
}

}  // namespace tkg
