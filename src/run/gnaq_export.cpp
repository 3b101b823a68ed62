#include "run/gnaq_export.hpp"

#include <ATen/ATen.h>

#include <exception>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "format/gnaq_file.hpp"
#include "train/trainer.hpp"

namespace tkg {

// RUNDIR/model.gnaq: the quantized model (codes + FP8 levels + β), written by every rank.
void export_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm) {
  GnaqHeader h;
  h.bits = m.quant.bits;
  h.n_users = s.n_users;
  h.n_items = s.n_items;
  h.dim = m.dim;
  h.beta_columns = tr.beta_logits().size(1);
  h.concat_levels = m.quant.concat_levels;
  h.tanh = m.quant.tanh;
  if (comm.rank() == 0) gnaq_create(path, h);
  comm.barrier();
  at::Tensor codes = tr.codes().to(at::kCPU).contiguous(), levels = tr.levels().detach().to(at::kCPU).contiguous();
  at::Tensor beta = tr.beta_logits().detach().to(at::kCPU).contiguous();  // host copies
  RowSetHash hash = gnaq_write(path, h, s.owned, codes.data_ptr<uint8_t>(), levels.data_ptr<float>(),
                               std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data_ptr<float>());
  {
    CollectiveSite site(comm, "export_gnaq.row_hash");
    comm.all_reduce_sum(hash.lanes(), 2);  // every rank has written and flushed its rows
  }
  hash.reduce();
  if (comm.rank() == 0) gnaq_seal(path, h, hash.value());
  comm.barrier();
}

void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm) {
  GnaqHeader h = gnaq_open(path);  // header and trailer only
  if (h.n_users != s.n_users || h.n_items != s.n_items)
    throw InputError(path, 0, "model is for " + std::to_string(h.n_users) + " users and " + std::to_string(h.n_items) +
                                  " items, the data has " + std::to_string(s.n_users) + " and " + std::to_string(s.n_items));
  if (h.dim != m.dim || h.bits != m.quant.bits || h.concat_levels != m.quant.concat_levels || h.tanh != m.quant.tanh)
    throw InputError(path, 0, "model was trained with dim " + std::to_string(h.dim) + ", quant.bits " +
                                  std::to_string(h.bits) + ", concat_levels " + std::to_string(h.concat_levels) +
                                  ", tanh " + std::to_string(h.tanh) + "; set the same options to load it");
  if (h.beta_columns != tr.beta_logits().size(1))
    throw InputError(path, 0, "model has " + std::to_string(h.beta_columns) + " beta columns, model.layers gives " +
                                  std::to_string(tr.beta_logits().size(1)));
  const int64_t L = int64_t{1} << h.bits;
  std::vector<uint8_t> codes(static_cast<size_t>(s.n_own() * h.dim));
  std::vector<float> levels(static_cast<size_t>(s.n_own() * L)), beta(static_cast<size_t>(s.n_own_users * h.beta_columns));
  // Each rank reads its own rows; their hashes summed over ranks must be the file's.
  // A rank that cannot read its rows says so in the same reduction (no peer is left waiting).
  RowSetHash hash;
  std::string error;
  try {
    hash = gnaq_read(path, h, s.owned, codes.data(), levels.data(),
                     std::vector<int64_t>(s.owned.begin(), s.owned.begin() + s.n_own_users), beta.data());
  } catch (const std::exception& e) {
    error = e.what();
  }
  int64_t sums[3] = {hash.lanes()[0], hash.lanes()[1], !error.empty()};
  {
    CollectiveSite site(comm, "load_gnaq.row_hash");
    comm.all_reduce_sum(sums, 3);
  }
  if (!error.empty()) throw InputError(path, 0, "rank " + std::to_string(comm.rank()) + ": " + error);
  if (sums[2]) throw InputError(path, 0, "another rank could not read its rows of the model");
  hash.lanes()[0] = sums[0], hash.lanes()[1] = sums[1];
  hash.reduce();
  if (h.version >= 2 && hash.value() != h.row_hash) throw InputError(path, 0, "GNAQ model checksum mismatch (rows corrupt)");
  tr.load_quantized(codes.data(), levels.data(), beta.data());
}

}  // namespace tkg
