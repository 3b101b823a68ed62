// Log lines that carry the rank and the level ("[rank 1] [error] timeout: ..."), on stderr, for
// what is not rank 0's progress output (which stays plain lines on stdout): failures, warnings,
// fault injection, teardown trouble. Built on spdlog (Debian libspdlog-dev); spdlog stays out of
// this header. Every call flushes (the next line may be an MPI_Abort).
#pragma once

#include <string>

namespace tkg::log {

// The rank on every line; -1 (before MPI knows it) prints "[rank ?]".
void set_rank(int rank);
int rank();
void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

}  // namespace tkg::log
