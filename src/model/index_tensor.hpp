// Host index vectors as tensors on a model's device.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace tkg {

// [v.size()] int64 on `device` (a copy; the vector may go away).
inline at::Tensor long_tensor(const std::vector<int64_t>& v, const at::Device& device) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kLong).to(device, false, true);
}

}  // namespace tkg
