// RUNDIR/model.gnaq, the compact export of a quantized model (codes + FP8 levels + β; its format
// is format/gnaq_file.hpp's): written and read collectively, every rank its own rows by global id,
// so any P can load it. GNAQ's parts: quant/ (codes, levels, the layer-0 op), train/embedding_table
// (the table a trainer holds), this export. No torch here.
#pragma once

#include <string>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

class Communicator;
class Trainer;

void export_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);
// Checks the model's graph and options against the run's; InputError naming the file otherwise.
void load_gnaq(const Shard& s, Trainer& tr, const ModelOptions& m, const std::string& path, Communicator& comm);
}  // namespace tkg
