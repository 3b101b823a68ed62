// Errors that end every process of a job alike (DESIGN §4 "Collective participation by
// construction"): a step that may fail on some ranks only (a bad line in one rank's slice of a
// file, a failed write) is run through run_agreed, and then every rank either goes on or throws
// the same AgreedError (the lowest failing rank's message), at the same point of the collective
// sequence. Nothing hangs waiting for a rank that already gave up.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace tkg {

class Communicator;

class AgreedError : public std::runtime_error {
 public:
  AgreedError(const std::string& what, int exit_code, int origin_rank)
      : std::runtime_error(what), exit_code_(exit_code), origin_rank_(origin_rank) {}
  int exit_code() const { return exit_code_; }      // 2: bad input (InputError), 1: any other failure
  int origin_rank() const { return origin_rank_; }  // the rank whose error this is
  bool input_error() const { return exit_code_ == 2; }

 private:
  int exit_code_, origin_rank_;
};

// Every rank calls it (two collectives: an all-gather of the status, and a broadcast of the
// message when some rank failed). A CommFailure inside `step` is rethrown as is (the
// communicator itself is broken; its own deadline ends the job).
void run_agreed(Communicator& comm, const std::function<void()>& step);

// Broadcasts a string from `root` (two broadcasts: its length, then its bytes).
std::string broadcast_string(Communicator& comm, const std::string& s, int root);

}  // namespace tkg
