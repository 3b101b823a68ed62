#include "partition/partitioner.hpp"

#include <metis.h>

#include <limits>
#include <numeric>
#include <sstream>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace tkg {

PartitionMethod parse_partition_method(const std::string& name) {
  if (name == "metis") return PartitionMethod::kMetis;
  if (name == "random") return PartitionMethod::kRandom;
  if (name == "hash") return PartitionMethod::kHash;
  if (name == "ptscotch") return PartitionMethod::kPtScotch;
  throw InputError("--method", 0, "unknown partition method '" + name + "' (expected metis, ptscotch, random or hash)");
}

const char* partition_method_name(PartitionMethod m) {
  switch (m) {
    case PartitionMethod::kMetis: return "metis";
    case PartitionMethod::kRandom: return "random";
    case PartitionMethod::kHash: return "hash";
    case PartitionMethod::kPtScotch: return "ptscotch";
  }
  return "?";
}

std::string metis_version() {
  std::ostringstream s;
  s << METIS_VER_MAJOR << "." << METIS_VER_MINOR << "." << METIS_VER_SUBMINOR;
  return s.str();
}

namespace {

const char* metis_status_message(int status) {
  switch (status) {
    case METIS_OK: return "ok";
    case METIS_ERROR_INPUT: return "METIS_ERROR_INPUT (invalid input graph or options)";
    case METIS_ERROR_MEMORY: return "METIS_ERROR_MEMORY (out of memory)";
    case METIS_ERROR: return "METIS_ERROR (unspecified error)";
    default: return "unknown METIS status";
  }
}

constexpr int64_t kIdxMax = std::numeric_limits<idx_t>::max();

// METIS indexes nodes and adjacency entries with idx_t (32-bit in Debian's build).
void check_metis_range(const NodeCsr& g) {
  if (g.n_nodes > kIdxMax || g.nnz() > kIdxMax) {
    std::ostringstream s;
    s << "graph too large for this METIS build (idx_t is " << IDXTYPEWIDTH << "-bit, max " << kIdxMax
      << "): " << g.n_nodes << " nodes, " << g.nnz() << " adjacency entries; use --method random|hash "
      << "or a METIS built with IDXTYPEWIDTH=64";
    throw InputError("--method metis", 0, s.str());
  }
}

std::vector<int32_t> partition_metis(const NodeCsr& g, const PartitionOptions& o) {
  check_metis_range(g);
  idx_t nvtxs = static_cast<idx_t>(g.n_nodes);
  idx_t ncon = static_cast<idx_t>(o.ncon);
  idx_t nparts = static_cast<idx_t>(o.parts);
  std::vector<idx_t> xadj(g.indptr.begin(), g.indptr.end());
  std::vector<idx_t> adjncy(g.indices.begin(), g.indices.end());
  std::vector<idx_t> vwgt;
  if (o.ncon == 2) {
    vwgt.resize(static_cast<size_t>(2 * g.n_nodes));
    for (int64_t v = 0; v < g.n_nodes; ++v) {
      vwgt[2 * v] = 1;
      vwgt[2 * v + 1] = static_cast<idx_t>(g.degree(v));
    }
  }
  std::vector<real_t> ubvec(static_cast<size_t>(ncon), static_cast<real_t>(o.imbalance));
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_NUMBERING] = 0;
  options[METIS_OPTION_SEED] = static_cast<idx_t>(o.seed % static_cast<uint64_t>(kIdxMax));
  options[METIS_OPTION_OBJTYPE] = o.objective == "vol" ? METIS_OBJTYPE_VOL : METIS_OBJTYPE_CUT;
  options[METIS_OPTION_CONTIG] = 0;
  idx_t edgecut = 0;
  std::vector<idx_t> part(static_cast<size_t>(nvtxs), 0);
  int status = METIS_PartGraphKway(&nvtxs, &ncon, xadj.data(), adjncy.data(), vwgt.empty() ? nullptr : vwgt.data(),
                                   /*vsize=*/nullptr, /*adjwgt=*/nullptr, &nparts, /*tpwgts=*/nullptr,
                                   ubvec.data(), options, &edgecut, part.data());
  if (status != METIS_OK)
    throw InternalError(std::string("METIS_PartGraphKway failed: ") + metis_status_message(status));
  std::vector<int32_t> out(part.begin(), part.end());
  for (int32_t p : out) TKG_CHECK(p >= 0 && p < o.parts, "METIS returned part " << p);
  return out;
}

}  // namespace

int32_t hash_part(int64_t v, uint64_t seed, int32_t parts) {
  return static_cast<int32_t>(splitmix64(static_cast<uint64_t>(v) ^ (seed * 0x9e3779b97f4a7c15ULL)) %
                              static_cast<uint64_t>(parts));
}

void check_partition_options(const PartitionOptions& o, int64_t n_nodes) {
  if (o.parts < 1) throw InputError("--parts", 0, "expected at least 1 part, got " + std::to_string(o.parts));
  if (o.ncon != 1 && o.ncon != 2) throw InputError("--ncon", 0, "expected 1 or 2, got " + std::to_string(o.ncon));
  if (o.objective != "cut" && o.objective != "vol")
    throw InputError("--objective", 0, "expected cut or vol, got '" + o.objective + "'");
  if (!(o.imbalance >= 1.0 && o.imbalance <= 10.0))
    throw InputError("--imbalance", 0, "expected a max/avg load ratio in [1, 10], got " + std::to_string(o.imbalance));
  if (o.parts > n_nodes && n_nodes > 0)
    throw InputError("--parts", 0, "more parts (" + std::to_string(o.parts) + ") than nodes (" + std::to_string(n_nodes) + ")");
}

std::vector<int32_t> partition_nodes(const NodeCsr& graph, const PartitionOptions& o) {
  check_partition_options(o, graph.n_nodes);
  if (o.method == PartitionMethod::kPtScotch)
    throw InputError("--method", 0, "ptscotch runs as the distributed partition (tkg-partition --method ptscotch, "
                                    "under mpirun or alone); this path partitions in one process");
  if (o.method == PartitionMethod::kMetis) check_metis_range(graph);  // before allocating anything
  const int64_t n = graph.n_nodes;
  std::vector<int32_t> part(static_cast<size_t>(n), 0);
  if (o.parts == 1) return part;
  switch (o.method) {
    case PartitionMethod::kMetis:
      return partition_metis(graph, o);
    case PartitionMethod::kRandom: {
      // A random balanced assignment: shuffle the nodes, deal them out round-robin.
      std::vector<int64_t> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      Rng rng(o.seed);
      shuffle(order, rng);
      for (int64_t k = 0; k < n; ++k) part[order[k]] = static_cast<int32_t>(k % o.parts);
      return part;
    }
    case PartitionMethod::kHash:
      for (int64_t v = 0; v < n; ++v) part[v] = hash_part(v, o.seed, o.parts);
      return part;
    case PartitionMethod::kPtScotch:
      break;
  }
  return part;
}

}  // namespace tkg
