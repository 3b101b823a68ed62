// Error types and checks shared by every module.
//
// InputError: bad user input (a file, a line, what was expected). Tools catch it, print the
// message and exit with status 2. Anything else that throws is a program or system error.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tkg {

class InputError : public std::runtime_error {
 public:
  // line <= 0 means "the file as a whole" (no line number in the message).
  InputError(const std::string& file, int64_t line, const std::string& what)
      : std::runtime_error(format(file, line, what)), file_(file), line_(line) {}
  const std::string& file() const { return file_; }
  int64_t line() const { return line_; }

 private:
  static std::string format(const std::string& file, int64_t line, const std::string& what) {
    std::ostringstream s;
    s << file;
    if (line > 0) s << ":" << line;
    s << ": " << what;
    return s.str();
  }
  std::string file_;
  int64_t line_;
};

// A failed communication call (MPI, NCCL, CUDA) or ranks that disagree on a collective; the
// comm layer throws its subclass CommError. Tools exit with kExitCommFailure for it, as for a
// collective's timeout.
class CommFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
constexpr int kExitCommFailure = 4;

// A broken internal invariant or a failed system call.
class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tkg

#define TKG_CHECK(cond, msg)                                                          \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream tkg_check_s_;                                                \
      tkg_check_s_ << __FILE__ << ":" << __LINE__ << ": check failed: " #cond ": " << msg; \
      throw ::tkg::InternalError(tkg_check_s_.str());                                 \
    }                                                                                 \
  } while (0)
