// The distributed id map (train/id_names): every rank reads one byte range of the map, the ranges
// cover each line once whatever P is, and lookups return the original names.
#include "run/id_names.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "../support/mpi_fixture.hpp"
#include "common/error.hpp"

using tkg::testing::world;

namespace {

// The map files written, removed when the test process ends.
struct WrittenMaps {
  std::vector<std::string> paths;
  ~WrittenMaps() {
    for (const std::string& p : paths) std::remove(p.c_str());
  }
} written_maps;

// A map file in a directory every rank sees (the same path on each rank: rank 0 writes it).
std::string write_map(const std::string& name, const std::vector<std::string>& lines, bool final_newline) {
  const std::string path = "/tmp/tkg_test_id_names_" + std::to_string(::getppid()) + "_" + name;
  written_maps.paths.push_back(path);
  if (world().rank() == 0) {
    std::ofstream f(path);
    for (size_t k = 0; k < lines.size(); ++k) f << lines[k] << (k + 1 < lines.size() || final_newline ? "\n" : "");
  }
  world().barrier();
  return path;
}

}  // namespace

TEST(DistributedNames, RangesCoverTheMapAndLookupsAnswer) {
  std::vector<std::string> names;
  for (int k = 0; k < 1000; ++k) names.push_back(k % 7 == 0 ? "" : "user-" + std::string(static_cast<size_t>(k % 13), 'x') + std::to_string(k));
  for (bool nl : {true, false}) {
    const std::string path = write_map(nl ? "a" : "b", names, nl);
    tkg::DistributedNames d(path, 1000, world());
    // Ranges are contiguous and cover every id once.
    std::vector<int64_t> firsts = world().all_gather_one(d.first_id()), ends = world().all_gather_one(d.end_id());
    EXPECT_EQ(firsts[0], 0);
    for (int r = 1; r < world().size(); ++r) EXPECT_EQ(firsts[r], ends[r - 1]);
    EXPECT_EQ(ends.back(), 1000);
    for (int64_t id = d.first_id(); id < d.end_id(); ++id) ASSERT_EQ(d.local_name(id), names[id]) << id;
    // Lookups of ids held anywhere, in any order, with repeats.
    std::vector<int64_t> ids;
    for (int k = 0; k < 300; ++k) ids.push_back((k * 37 + world().rank() * 11) % 1000);
    ids.push_back(ids.front());
    std::vector<std::string> got = d.lookup(ids);
    for (size_t k = 0; k < ids.size(); ++k) ASSERT_EQ(got[k], names[ids[k]]) << ids[k];
    world().barrier();
    if (world().rank() == 0) std::remove(path.c_str());
  }
}

TEST(DistributedNames, WithoutAMapNamesAreTheIds) {
  tkg::DistributedNames d("", 10, world());
  EXPECT_EQ(d.holder(9), world().size() - 1);
  EXPECT_EQ(d.lookup({3, 9}), (std::vector<std::string>{"3", "9"}));
}

TEST(DistributedNames, WrongLineCountIsAnInputError) {
  const std::string path = write_map("c", {"a", "b", "c"}, true);
  EXPECT_THROW(tkg::DistributedNames(path, 4, world()), tkg::InputError);
  world().barrier();
}
