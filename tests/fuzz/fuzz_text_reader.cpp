// Fuzz target: the interaction readers (edge lists, adjacency, auto-detection, remapped ids) and
// the dataset checks (id bound before allocation). The first input byte picks the options.
#include <cstddef>
#include <cstdint>

#include "../fuzz/fuzz_support.hpp"
#include "common/error.hpp"
#include "graph/dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  tkg::ReadOptions o;
  o.format = static_cast<tkg::TextFormat>(data[0] % 3);
  o.drop_duplicates = data[0] & 4;
  o.remap_ids = data[0] & 8;
  o.require_items = data[0] & 16;
  const std::string path = tkg::fuzz::as_file(data + 1, size - 1, "train.txt");
  try {
    tkg::IdMaps maps;
    tkg::FileInfo fi;
    tkg::Dataset ds;
    ds.train = tkg::read_interactions(path, o, &fi, &maps);
    ds.files.push_back(fi);
    tkg::finalize_dataset(ds);
    if (ds.n_users <= 0 || ds.n_items <= 0) __builtin_trap();
  } catch (const tkg::InputError&) {
  }
  return 0;
}
