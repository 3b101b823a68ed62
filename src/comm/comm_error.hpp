// The error a failed communication call throws: names the rank, the call and the reason.
#pragma once

#include <stdexcept>

namespace tkg {

class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tkg
