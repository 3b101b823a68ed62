// tkg-train: TopKGAT training on one rank (P = 1) or many (mpirun/srun, see launch/).
#include <iostream>

#include "app/config.hpp"
#include "comm/communicator.hpp"
#include "common/cli.hpp"
#include "train/run.hpp"

int main(int argc, char** argv) {
  return tkg::run_tool("tkg-train", [&]() {
    tkg::ParsedConfig pc = tkg::parse_train_config(argc, argv);
    if (pc.help) {
      std::cout << pc.help_text;
      return 0;
    }
    auto comm = tkg::make_self_communicator();
    return tkg::run_training(pc.run, *comm);
  });
}
