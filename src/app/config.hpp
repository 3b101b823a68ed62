// tkg-train's options: command line + INI config files (Boost.Program_options). The command line
// wins over the file; an unknown key in a file is an error. Produces plain RunOptions.
#pragma once

#include <string>

#include "run/run.hpp"

namespace tkg {

struct ParsedConfig {
  RunOptions run;
  bool help = false;
  std::string help_text;
};

// Throws InputError (or a Boost.Program_options error) with a clear message on bad options.
ParsedConfig parse_train_config(int argc, const char* const argv[]);

}  // namespace tkg
