// Shared main() wrapper for the command-line tools: maps exceptions to messages and exit codes.
//   InputError, bad options -> "PROGRAM: error: ..." and exit 2; anything else -> exit 1.
#pragma once

#include <functional>
#include <string>

namespace tkg {

int run_tool(const std::string& program, const std::function<int()>& body);

}  // namespace tkg
