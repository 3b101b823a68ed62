// The error a failed communication call throws: names the rank, the call and the reason.
#pragma once

#include "common/error.hpp"

namespace tkg {

class CommError : public CommFailure {
 public:
  using CommFailure::CommFailure;
};

}  // namespace tkg
