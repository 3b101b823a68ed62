// tkg-gen: synthetic datasets (power-law with planted communities; tiled real datasets).
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <sstream>

#include "common/memory.hpp"
#include "common/phase_progress.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/dataset.hpp"
#include "graph/synthetic.hpp"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  tkg::tune_allocator();  // large blocks back to the kernel when freed (common/memory.hpp)
  return tkg::run_tool("tkg-gen", [&]() {
    std::string kind, out, data;
    tkg::PowerLawOptions pl;
    tkg::TileOptions tile;
    uint64_t seed = 1;
    bool force = false;
    po::options_description desc("tkg-gen: write a synthetic dataset (train/valid/test edge lists)\nOptions");
    desc.add_options()
      ("help,h", "show this help")
      ("kind", po::value(&kind)->required(), "powerlaw | tile")
      ("out", po::value(&out)->required(), "output dataset directory (written atomically)")
      ("seed", po::value(&seed)->default_value(1), "random seed")
      ("force", po::bool_switch(&force), "replace --out if it exists")
      ("users", po::value(&pl.users)->default_value(pl.users), "powerlaw: number of users")
      ("items", po::value(&pl.items)->default_value(pl.items), "powerlaw: number of items")
      ("edges", po::value(&pl.edges)->default_value(pl.edges), "powerlaw: distinct interactions (all splits)")
      ("communities", po::value(&pl.communities)->default_value(0), "powerlaw: planted communities (0 = none)")
      ("p-in", po::value(&pl.p_in)->default_value(pl.p_in), "powerlaw: probability an edge stays in its community")
      ("alpha-users", po::value(&pl.alpha_users)->default_value(pl.alpha_users), "powerlaw: Zipf exponent of user weights")
      ("alpha-items", po::value(&pl.alpha_items)->default_value(pl.alpha_items), "powerlaw: Zipf exponent of item weights")
      ("data", po::value(&data), "tile: dataset directory to tile")
      ("copies", po::value(&tile.copies)->default_value(tile.copies), "tile: number of copies K")
      ("cross", po::value(&tile.cross)->default_value(tile.cross), "tile: fraction of lines moved to another copy's item");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") || argc == 1) {
      std::cout << desc << "\nExamples:\n  tkg-gen --kind powerlaw --users 1000000 --items 1000000 --edges 20000000 "
                   "--communities 64 --seed 1 --out data/pl-1m\n  tkg-gen --kind tile --data ../shared/data/gowalla "
                   "--copies 8 --cross 0.01 --seed 1 --out data/gowalla-x8\n";
      return 0;
    }
    po::notify(vm);
    auto t0 = std::chrono::steady_clock::now();
    tkg::Dataset ds;
    std::ostringstream info;
    pl.seed = tile.seed = seed;
    if (kind == "powerlaw") {
      // Draws (with the surplus of the top-up rounds), then the split: progress::add counts both.
      tkg::PhaseProgress p("tkg-gen", "sampling " + std::to_string(pl.edges) + " distinct pairs", pl.edges + pl.edges / 16 + pl.edges, 0,
                           pl.edges >= 1000000);
      ds = tkg::generate_powerlaw(pl);
      info << "kind powerlaw\nusers " << pl.users << "\nitems " << pl.items << "\nedges " << pl.edges << "\ncommunities "
           << pl.communities << "\np_in " << pl.p_in << "\nalpha_users " << pl.alpha_users << "\nalpha_items "
           << pl.alpha_items << "\nseed " << seed << "\n";
    } else if (kind == "tile") {
      if (data.empty()) throw tkg::InputError("--data", 0, "tile needs --data DIR");
      tkg::ReadOptions ro;
      tkg::Dataset base = tkg::load_dataset(data, ro);
      ds = tkg::tile_dataset(base, tile);
      info << "kind tile\nbase " << data << "\ncopies " << tile.copies << "\ncross " << tile.cross << "\nseed " << seed << "\n";
    } else {
      throw tkg::InputError("--kind", 0, "unknown kind '" + kind + "' (expected powerlaw or tile)");
    }
    info << "n_users " << ds.n_users << "\nn_items " << ds.n_items << "\n";
    tkg::write_dataset_dir(out, ds, force, info.str(), ds.train.size() >= 1000000);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "wrote " << out << ": " << ds.n_users << " users, " << ds.n_items << " items, train "
              << ds.train.size() << ", valid " << ds.valid.size() << ", test " << ds.test.size() << " lines in "
              << secs << " s (peak RSS " << tkg::peak_rss_mb() << " MiB)\n";
    return 0;
  });
}
