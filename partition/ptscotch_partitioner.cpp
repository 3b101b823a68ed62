#include "partition/ptscotch_partitioner.hpp"

#include <mpi.h>
#include <stdio.h>
// The 64-bit build's headers (CMake puts /usr/include/scotch-int64 on the include path).
#include <scotch.h>
#include <ptscotch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "common/memory.hpp"
#include "partition/node_slice.hpp"
#include "partition/partitioner.hpp"

static_assert(std::is_same<SCOTCH_Num, int64_t>::value, "tkg links the 64-bit PT-Scotch build (scotch-int64)");

namespace tkg {

namespace {

void check_scotch(int rc, const char* call) {
  if (rc != 0) throw std::runtime_error(std::string("PT-Scotch ") + call + " failed (return code " + std::to_string(rc) + ")");
}

// "fast": SCOTCH_stratDgraphMapBuild's quality strategy (7.0.3, as SCOTCH_stratSave prints it)
// with every Fiduccia-Mattheyses refinement bounded to 5 passes (pass=-1: until no gain) and one
// sequential multilevel where it keeps the better of two. On the 100M-interaction power-law graph
// the quality strategy spent more than 13 minutes in the sequential FM of its coarsest graph.
// @K: the load imbalance (imbalance - 1), @k: min(0.01, @K) (the band's tighter balance).
const char* const kFastStrategy =
    "r{sep=m{asc=b{width=3,bnd=(d{pass=40,dif=1,rem=0,type=b}|)q{strat=f{move=80,pass=5,bal=@k,type=b}}x{sbbt=5,bal=@K},org=q{strat=f{move=80,pass=5,bal=@k,type=b}}x{sbbt=5,bal=@K}},low=q{strat=m{asc=b{bnd=f{move=80,pass=5,bal=@K,type=b},org=f{move=80,pass=5,bal=@K,type=b},width=3},low=h{pass=10}f{move=80,pass=5,bal=@K,type=b},vert=80,rat=0.8}},seq=q{strat=m{asc=b{bnd=f{move=80,pass=5,bal=@K,type=b},org=f{move=80,pass=5,bal=@K,type=b},width=3},low=h{pass=10}f{move=80,pass=5,bal=@K,type=b},vert=80,rat=0.8}},pass=5,vert=10000,dvert=1000,fold=d,rat=0.8},seq=r{job=t,bal=@K,map=t,poli=S,sep=m{asc=b{bnd=f{move=80,pass=5,bal=@K,type=b},org=f{move=80,pass=5,bal=@K,type=b},width=3},low=h{pass=10}f{move=80,pass=5,bal=@K,type=b},vert=80,rat=0.8}},bal=@K}";

std::string fast_strategy(double imbalance) {
  const double K = imbalance - 1.0, k = std::min(0.01, K);
  std::string s = kFastStrategy;
  auto put = [&](const std::string& key, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    for (size_t at = s.find(key); at != std::string::npos; at = s.find(key, at)) s.replace(at, key.size(), buf);
  };
  put("@K", K);
  put("@k", k);
  return s;
}

// A Scotch strategy string ("r{sep=m{...}}") rather than one of the named flag sets.
bool is_strategy_string(const std::string& s) { return s.find('{') != std::string::npos; }

SCOTCH_Num strategy_flag(const std::string& name) {
  if (name == "quality") return SCOTCH_STRATQUALITY;
  if (name == "speed") return SCOTCH_STRATSPEED;
  if (name == "balance") return SCOTCH_STRATBALANCE;
  if (name == "scalability") return SCOTCH_STRATSCALABILITY;
  if (name == "default") return SCOTCH_STRATDEFAULT;
  throw InputError("--scotch-strategy", 0, "expected fast, quality, speed, balance, scalability, default or a Scotch "
                                           "strategy string, got '" + name + "'");
}

}  // namespace

std::string ptscotch_version() {
  int v = 0, r = 0, p = 0;
  SCOTCH_version(&v, &r, &p);
  return std::to_string(v) + "." + std::to_string(r) + "." + std::to_string(p);
}

std::vector<int32_t> ptscotch_partition(Communicator& comm, const NodeSlice& s, const PartitionOptions& opts) {
  const int64_t n = s.count;
  std::vector<int32_t> part(static_cast<size_t>(n), 0);
  if (opts.parts < 1) throw InputError("--parts", 0, "parts must be >= 1");
  if (opts.scotch_strategy != "fast" && !is_strategy_string(opts.scotch_strategy)) strategy_flag(opts.scotch_strategy);  // refused before any collective
  if (opts.ncon != 1 && opts.ncon != 2)  // (check_partition_options refused it already; every rank alike)
    throw InputError("--ncon", 0, "PT-Scotch balances one load: --ncon 1 (node count) or 2 (node count + degree in one load)");
  // Distinct neighbours as global node ids (Scotch's graph is simple and symmetric: the rows of
  // both endpoints of a pair hold each other once).
  std::vector<SCOTCH_Num> vert(static_cast<size_t>(n) + 1, 0), edge;
  edge.reserve(s.train.values.size());
  for (int64_t k = 0; k < n; ++k) {
    const int64_t b = s.train.indptr[k], e = s.train.indptr[k + 1];
    const size_t start = edge.size();
    const int64_t offset = s.is_user(k) ? s.n_users : 0;  // users' values are item ids
    for (int64_t j = b; j < e; ++j) edge.push_back(s.train.values[j] + offset);
    if (s.is_user(k)) std::sort(edge.begin() + static_cast<std::ptrdiff_t>(start), edge.end());
    edge.erase(std::unique(edge.begin() + static_cast<std::ptrdiff_t>(start), edge.end()), edge.end());
    vert[k + 1] = static_cast<SCOTCH_Num>(edge.size());
  }
  edge.shrink_to_fit();
  memory_mark("ptscotch: distinct adjacency built");
  // Vertex loads (ncon = 2): 1 + degree × nodes / entries, so both halves have the same total.
  std::vector<SCOTCH_Num> velo;
  if (opts.ncon == 2) {
    int64_t totals[2] = {n, static_cast<int64_t>(s.train.values.size())};
    comm.all_reduce_sum(totals, 2);
    const double scale = totals[1] > 0 ? static_cast<double>(totals[0]) / static_cast<double>(totals[1]) : 0.0;
    velo.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k)
      velo[k] = 1 + static_cast<SCOTCH_Num>(std::llround(static_cast<double>(s.degree(k)) * scale));
  }
  if (opts.parts == 1) return part;

  MPI_Comm mc;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &mc) != MPI_SUCCESS) throw std::runtime_error("MPI_Comm_dup failed");
  SCOTCH_Dgraph g, bound;
  SCOTCH_Strat strat;
  SCOTCH_Context ctx;
  std::vector<SCOTCH_Num> out(static_cast<size_t>(n), 0);
  std::string failure;
  bool graph_init = false, strat_init = false, ctx_init = false, bound_init = false;
  try {
    // A context that makes the result a function of the graph, the seed and R: deterministic
    // algorithms only (Debian's Scotch is threaded) and the seed fixed (not the clock).
    check_scotch(SCOTCH_contextInit(&ctx), "SCOTCH_contextInit");
    ctx_init = true;
    check_scotch(SCOTCH_contextOptionSetNum(&ctx, SCOTCH_OPTIONNUMDETERMINISTIC, 1), "SCOTCH_contextOptionSetNum(DETERMINISTIC)");
    check_scotch(SCOTCH_contextOptionSetNum(&ctx, SCOTCH_OPTIONNUMRANDOMFIXEDSEED, 1), "SCOTCH_contextOptionSetNum(RANDOMFIXEDSEED)");
    SCOTCH_contextRandomSeed(&ctx, static_cast<SCOTCH_Num>(opts.seed));
    check_scotch(SCOTCH_dgraphInit(&g, mc), "SCOTCH_dgraphInit");
    graph_init = true;
    check_scotch(SCOTCH_dgraphBuild(&g, 0, n, n, vert.data(), vert.data() + 1, velo.empty() ? nullptr : velo.data(), nullptr,
                                    static_cast<SCOTCH_Num>(edge.size()), static_cast<SCOTCH_Num>(edge.size()), edge.data(),
                                    nullptr, nullptr),
                 "SCOTCH_dgraphBuild");
    check_scotch(SCOTCH_stratInit(&strat), "SCOTCH_stratInit");
    strat_init = true;
    if (opts.scotch_strategy == "fast")
      check_scotch(SCOTCH_stratDgraphMap(&strat, fast_strategy(opts.imbalance).c_str()), "SCOTCH_stratDgraphMap(fast)");
    else if (is_strategy_string(opts.scotch_strategy))
      check_scotch(SCOTCH_stratDgraphMap(&strat, opts.scotch_strategy.c_str()), "SCOTCH_stratDgraphMap");
    else
      check_scotch(SCOTCH_stratDgraphMapBuild(&strat, strategy_flag(opts.scotch_strategy), comm.size(), opts.parts,
                                              opts.imbalance - 1.0),
                   "SCOTCH_stratDgraphMapBuild");
    check_scotch(SCOTCH_dgraphInit(&bound, mc), "SCOTCH_dgraphInit");
    bound_init = true;
    check_scotch(SCOTCH_contextBindDgraph(&ctx, &g, &bound), "SCOTCH_contextBindDgraph");
    memory_mark("ptscotch: graph built");
    check_scotch(SCOTCH_dgraphPart(&bound, opts.parts, &strat, out.data()), "SCOTCH_dgraphPart");
    memory_mark("ptscotch: partitioned");
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (strat_init) SCOTCH_stratExit(&strat);
  if (bound_init) SCOTCH_dgraphExit(&bound);
  if (graph_init) SCOTCH_dgraphExit(&g);
  if (ctx_init) SCOTCH_contextExit(&ctx);
  MPI_Comm_free(&mc);
  if (!failure.empty()) throw std::runtime_error(failure);
  for (int64_t k = 0; k < n; ++k) {
    TKG_CHECK(out[k] >= 0 && out[k] < opts.parts, "PT-Scotch returned part " << out[k] << " for node " << s.first + k);
    part[k] = static_cast<int32_t>(out[k]);
  }
  return part;
}

}  // namespace tkg
