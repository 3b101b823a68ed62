// Fuzz target: the model-file loaders: a GNAQ model (model.gnaq: header, size, checksum, records)
// and the row-wise .npy files of checkpoints (header, type, shape, bounds).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../fuzz/fuzz_support.hpp"
#include "common/error.hpp"
#include "format/gnaq_file.hpp"
#include "format/npy_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tkg::fuzz::as_file(data, size, "model.bin");
  try {
    tkg::GnaqHeader h = tkg::gnaq_open(path);
    // A valid header: read a few records within it.
    const int64_t n = std::min<int64_t>(h.n_users + h.n_items, 4), nu = std::min<int64_t>(h.n_users, 2);
    std::vector<int64_t> gids(static_cast<size_t>(n)), users(static_cast<size_t>(nu));
    for (int64_t k = 0; k < n; ++k) gids[k] = k;
    for (int64_t k = 0; k < nu; ++k) users[k] = k;
    if (h.dim > 4096 || h.beta_columns > 64) return 0;
    std::vector<uint8_t> codes(static_cast<size_t>(n * h.dim));
    std::vector<float> levels(static_cast<size_t>(n << h.bits)), beta(static_cast<size_t>(nu * h.beta_columns));
    tkg::gnaq_read(path, h, gids, codes.data(), levels.data(), users, beta.data());
  } catch (const tkg::InputError&) {
  }
  for (int cols : {1, 4, 16}) {
    try {
      std::vector<float> out(static_cast<size_t>(3 * cols));
      int64_t rows = 0;
      tkg::npy_read_rows(path, cols, tkg::NpyType::kFloat32, {0, 1, 2}, out.data(), &rows);
    } catch (const tkg::InputError&) {
    }
  }
  return 0;
}
