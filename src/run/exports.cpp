#include "run/exports.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "comm/routing.hpp"
#include "common/fs.hpp"
#include "graph/dataset.hpp"
#include "run/id_names.hpp"
#include "format/npy_file.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

// Writes RUNDIR/embeddings/{users,items}.npy (rows by original id) from every rank's owned rows.
void export_embeddings(const Shard& s, Trainer& tr, const std::string& dir, Communicator& comm,
                       const std::string& id_map_dir) {
  at::Tensor final = tr.final_embeddings();  // [n_own, w] (collective)
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
    if (!id_map_dir.empty())  // row k of users.npy / items.npy is line k of these
      for (const char* kind : {"user", "item"})
      {
        // A hard link where the file system allows (O(1)); a copy otherwise.
        const std::string from = id_map_dir + "/" + kind + "_ids.txt", to = dir + "/" + kind + "_ids.txt";
        std::error_code ec;
        fs::remove(to, ec);
        fs::create_hard_link(from, to, ec);
        if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
      }
  }
}

// Writes RUNDIR/topk.tsv ("user<TAB>item1,item2,...", ascending user id) with every rank writing
// its part in place: the lists travel to the rank that holds their users' range of ids (and, with
// remapped ids, their original names), which sorts them, looks up the items' original names from
// their holders, and writes its bytes at its offset of one file. No rank holds every line or
// reads a whole id map.
void export_topk(const Shard& s, const std::vector<int64_t>& users, const TopKAccumulator& acc, int64_t k,
                 const std::string& path, Communicator& comm, const std::string& id_map_dir) {
  CollectiveSite site(comm, "export_topk");
  const int me = comm.rank();
  DistributedNames user_names(id_map_dir.empty() ? "" : id_map_dir + "/user_ids.txt", s.n_users, comm);
  DistributedNames item_names(id_map_dir.empty() ? "" : id_map_dir + "/item_ids.txt", s.n_items, comm);
  // [user, k items (-1 past the end of a short list)] per evaluated user, to its user's holder.
  const int64_t W = 1 + k;
  std::vector<int64_t> rec(users.size() * static_cast<size_t>(W), -1);
  std::vector<int32_t> dest(users.size());
  for (size_t row = 0; row < users.size(); ++row) {
    const int64_t uid = s.owned[users[row]];
    rec[row * W] = uid;
    std::vector<int64_t> r = acc.ranked(static_cast<int64_t>(row));
    for (int64_t j = 0; j < std::min<int64_t>(k, static_cast<int64_t>(r.size())); ++j) rec[row * W + 1 + j] = r[j];
    dest[row] = user_names.holder(uid);
  }
  Routed got = route_records(comm, rec, W, dest);
  const int64_t n = static_cast<int64_t>(got.received.size()) / W;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t q = 0; q < n; ++q) order[q] = q;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return got.received[a * W] < got.received[b * W]; });
  std::vector<int64_t> items;  // distinct items of the lists here, ascending
  for (int64_t q = 0; q < n; ++q)
    for (int64_t j = 1; j < W; ++j)
      if (got.received[q * W + j] >= 0) items.push_back(got.received[q * W + j]);
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  const std::vector<std::string> names = item_names.lookup(items);
  std::string text;
  for (int64_t q : order) {
    text += user_names.local_name(got.received[q * W]);
    text += '\t';
    for (int64_t j = 1; j < W && got.received[q * W + j] >= 0; ++j) {
      const int64_t it = got.received[q * W + j];
      if (j > 1) text += ',';
      text += names[static_cast<size_t>(std::lower_bound(items.begin(), items.end(), it) - items.begin())];
    }
    text += '\n';
  }
  // Offsets by rank order; rank 0 sizes the file, every rank writes and flushes its bytes.
  const std::vector<int64_t> sizes = comm.all_gather_one(static_cast<int64_t>(text.size()));
  int64_t offset = 0, total = 0;
  for (int r = 0; r < comm.size(); ++r) (r < me ? offset : total) += sizes[r];
  total += offset;
  const std::string tmp = path + ".tmp";
  std::string error;
  if (me == 0) {
    const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(total)) != 0) error = tmp + ": cannot create: " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
  }
  if (comm.all_reduce_sum(static_cast<int64_t>(!error.empty()))) throw InputError(path, 0, "cannot write the top-K lists" + (error.empty() ? "" : ": " + error));
  if (!text.empty()) {
    const int fd = ::open(tmp.c_str(), O_WRONLY);
    if (fd < 0 || ::pwrite(fd, text.data(), text.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd) != 0)
      error = "rank " + std::to_string(me) + ": " + tmp + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
  }
  if (comm.all_reduce_sum(static_cast<int64_t>(!error.empty())))
    throw InputError(path, 0, "cannot write the top-K lists" + (error.empty() ? " (another rank failed)" : ": " + error));
  if (me == 0) {
    if (std::rename(tmp.c_str(), path.c_str()) != 0) error = std::string("cannot rename: ") + std::strerror(errno);
  }
  if (comm.all_reduce_sum(static_cast<int64_t>(!error.empty()))) throw InputError(path, 0, "cannot write the top-K lists: " + error);
}

}  // namespace tkg
