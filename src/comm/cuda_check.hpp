// CUDA and NCCL return-code checks. Each failure throws CommError naming the call, the file:line
// and the library's own error string; the *_NOTHROW variants only log (for destructors).
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "comm/comm_error.hpp"

#define TKG_CUDA_CHECK(call)                                                                      \
  do {                                                                                            \
    cudaError_t tkg_err_ = (call);                                                                \
    if (tkg_err_ != cudaSuccess) {                                                                \
      std::ostringstream tkg_s_;                                                                  \
      tkg_s_ << #call << " failed at " << __FILE__ << ":" << __LINE__ << ": "                     \
             << cudaGetErrorName(tkg_err_) << " (" << cudaGetErrorString(tkg_err_) << ")";        \
      throw ::tkg::CommError(tkg_s_.str());                                                       \
    }                                                                                             \
  } while (0)

#define TKG_NCCL_CHECK(call)                                                                      \
  do {                                                                                            \
    ncclResult_t tkg_res_ = (call);                                                               \
    if (tkg_res_ != ncclSuccess && tkg_res_ != ncclInProgress) {                                  \
      std::ostringstream tkg_s_;                                                                  \
      tkg_s_ << #call << " failed at " << __FILE__ << ":" << __LINE__ << ": "                     \
             << ncclGetErrorString(tkg_res_);                                                     \
      const char* tkg_last_ = ncclGetLastError(nullptr);                                          \
      if (tkg_last_ && *tkg_last_) tkg_s_ << " (" << tkg_last_ << ")";                            \
      throw ::tkg::CommError(tkg_s_.str());                                                       \
    }                                                                                             \
  } while (0)

#define TKG_NCCL_CHECK_NOTHROW(call)                                                              \
  do {                                                                                            \
    ncclResult_t tkg_res_ = (call);                                                               \
    if (tkg_res_ != ncclSuccess)                                                                  \
      std::fprintf(stderr, "%s failed at %s:%d: %s\n", #call, __FILE__, __LINE__,                 \
                   ncclGetErrorString(tkg_res_));                                                 \
  } while (0)
