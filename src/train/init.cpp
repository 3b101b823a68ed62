#include "train/init.hpp"

#include <cmath>

#include "common/rng.hpp"

namespace tkg {

void init_normal_rows(const std::vector<int64_t>& ids, int64_t width, double std, uint64_t seed, uint64_t table,
                      float* out) {
  const uint64_t base = splitmix64(seed ^ splitmix64(table + 0x5bd1e995ULL));
  for (size_t k = 0; k < ids.size(); ++k) {
    Rng rng(splitmix64(base ^ static_cast<uint64_t>(ids[k])));
    float* row = out + static_cast<int64_t>(k) * width;
    for (int64_t t = 0; t < width; t += 2) {  // Box-Muller, two values per draw
      double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
      double r = std * std::sqrt(-2.0 * std::log(u1));
      row[t] = static_cast<float>(r * std::cos(2 * M_PI * u2));
      if (t + 1 < width) row[t + 1] = static_cast<float>(r * std::sin(2 * M_PI * u2));
    }
  }
}

}  // namespace tkg
