// Expecting an InputError that names a file, a line and what was wrong.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace tkg::testing {

// Runs f, expects an InputError whose message names `path`, line `line` and contains `needle`.
template <typename F>
void expect_input_error(F&& f, const std::string& path, int64_t line, const std::string& needle) {
  try {
    f();
    FAIL() << "expected InputError containing '" << needle << "'";
  } catch (const tkg::InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.file(), path) << msg;
    EXPECT_EQ(e.line(), line) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    if (line > 0) EXPECT_NE(msg.find(path + ":" + std::to_string(line)), std::string::npos) << msg;
  }
}

}  // namespace tkg::testing
