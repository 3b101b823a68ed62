// Parameter initialisation by global id: row g of a table depends only on (seed, table, g), so
// any partition into P ranks starts from the same parameters.
#pragma once

#include <cstdint>
#include <vector>

namespace tkg {

// Fills out[k * width + t] with N(0, std²) values for global row ids[k].
void init_normal_rows(const std::vector<int64_t>& ids, int64_t width, double std, uint64_t seed, uint64_t table,
                      float* out);

}  // namespace tkg
