#include "train/exports.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/dataset.hpp"
#include "train/outputs.hpp"
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
        fs::copy_file(id_map_dir + "/" + kind + "_ids.txt", dir + "/" + kind + "_ids.txt", fs::copy_options::overwrite_existing);
  }
}

// Writes RUNDIR/topk.tsv ("user<TAB>item1,item2,...", ascending user id) from every rank's lists.
void export_topk(const Shard& s, const std::vector<int64_t>& users, const TopKAccumulator& acc, int64_t k,
                 const std::string& path, Communicator& comm, const std::string& id_map_dir) {
  std::ostringstream mine;
  for (size_t row = 0; row < users.size(); ++row) {
    std::vector<int64_t> r = acc.ranked(static_cast<int64_t>(row));
    mine << s.owned[users[row]] << '\t';
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
    if (id_map_dir.empty()) {
      for (auto& l : lines) out += l.second + "\n";
    } else {  // remapped ids: the original user and item ids (rank 0 reads the maps here only)
      const std::vector<std::string> un = read_id_map(id_map_dir, "user"), in = read_id_map(id_map_dir, "item");
      auto name = [&](const std::vector<std::string>& names, const std::string& id) {
        const int64_t v = std::stoll(id);
        TKG_CHECK(v >= 0 && v < static_cast<int64_t>(names.size()), "id " << v << " outside the id map of " << id_map_dir);
        return names[v];
      };
      for (auto& l : lines) {
        const size_t tab = l.second.find('\t');
        out += name(un, l.second.substr(0, tab)) + "\t";
        std::istringstream items(l.second.substr(tab + 1));
        std::string it;
        for (bool first = true; std::getline(items, it, ','); first = false) out += (first ? "" : ",") + name(in, it);
        out += "\n";
      }
    }
    write_file_atomic(path, out);
  }
  comm.barrier();
}

}  // namespace tkg
