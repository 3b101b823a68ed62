// The 2-user / 2-item graph of the worked example in src/shard/shard.hpp:
// train (u0,i0) (u0,i1) (u1,i1), test (u1,i0); nodes u0=0, u1=1, i0=2, i1=3.
#pragma once

#include "graph/dataset.hpp"

namespace tkg::testing {

inline Dataset tiny_dataset() {
  Dataset ds;
  ds.train.push(0, 0);
  ds.train.push(0, 1);
  ds.train.push(1, 1);
  ds.test.push(1, 0);
  finalize_dataset(ds);
  return ds;
}

}  // namespace tkg::testing
