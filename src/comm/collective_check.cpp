#include "comm/collective_check.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace tkg {

namespace {

// Wire layout: kind u32, type u32, seq u64, n i64, root i32, pad i32, site[kSiteBytes],
// then P send counts and P receive counts (i64, zero where unused).
constexpr int64_t kHeader = 4 + 4 + 8 + 8 + 4 + 4 + kSiteBytes;

std::string counts_text(const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t k = 0; k < v.size(); ++k) s << (k ? " " : "") << v[k];
  s << "]";
  return s.str();
}

bool has_counts(Collective k) {
  return k == Collective::kAllToAllV || k == Collective::kAllToAllVStarted || k == Collective::kAllGatherV;
}

// All-to-all-v and its started form pair up on the wire: the same collective to a peer.
bool same_kind(Collective a, Collective b) {
  auto norm = [](Collective k) { return k == Collective::kAllToAllVStarted ? Collective::kAllToAllV : k; };
  return norm(a) == norm(b);
}

}  // namespace

int64_t fingerprint_bytes(int P) { return kHeader + 16 * static_cast<int64_t>(P); }

std::vector<uint8_t> encode_fingerprint(const CollectiveCall& c, int P) {
  std::vector<uint8_t> b(static_cast<size_t>(fingerprint_bytes(P)), 0);
  uint8_t* p = b.data();
  const uint32_t kind = static_cast<uint32_t>(c.kind), type = static_cast<uint32_t>(c.type);
  std::memcpy(p, &kind, 4);
  std::memcpy(p + 4, &type, 4);
  std::memcpy(p + 8, &c.seq, 8);
  std::memcpy(p + 16, &c.n, 8);
  std::memcpy(p + 24, &c.root, 4);
  std::memcpy(p + 32, c.site.data(), std::min<size_t>(c.site.size(), kSiteBytes - 1));
  int64_t* counts = reinterpret_cast<int64_t*>(p + kHeader);
  for (int q = 0; q < P; ++q) {
    if (static_cast<size_t>(q) < c.send.size()) std::memcpy(counts + q, &c.send[q], 8);
    if (static_cast<size_t>(q) < c.recv.size()) std::memcpy(counts + P + q, &c.recv[q], 8);
  }
  return b;
}

CollectiveCall decode_fingerprint(const uint8_t* p, int P) {
  CollectiveCall c;
  uint32_t kind = 0, type = 0;
  std::memcpy(&kind, p, 4);
  std::memcpy(&type, p + 4, 4);
  c.kind = static_cast<Collective>(kind);
  c.type = static_cast<DType>(type);
  std::memcpy(&c.seq, p + 8, 8);
  std::memcpy(&c.n, p + 16, 8);
  std::memcpy(&c.root, p + 24, 4);
  c.site.assign(reinterpret_cast<const char*>(p + 32), strnlen(reinterpret_cast<const char*>(p + 32), kSiteBytes));
  if (has_counts(c.kind)) {
    c.send.resize(static_cast<size_t>(P));
    c.recv.resize(static_cast<size_t>(P));
    std::memcpy(c.send.data(), p + kHeader, 8 * static_cast<size_t>(P));
    std::memcpy(c.recv.data(), p + kHeader + 8 * P, 8 * static_cast<size_t>(P));
    if (c.kind == Collective::kAllGatherV) c.send.clear();
  }
  return c;
}

std::string describe_call(const CollectiveCall& c) {
  std::ostringstream s;
  s << collective_name(c.kind) << " #" << c.seq << " (" << dtype_name(c.type);
  switch (c.kind) {
    case Collective::kAllToAllV:
    case Collective::kAllToAllVStarted: s << ", send " << counts_text(c.send) << ", recv " << counts_text(c.recv); break;
    case Collective::kAllGatherV: s << ", own block " << c.n << ", recv " << counts_text(c.recv); break;
    case Collective::kBroadcast: s << ", " << c.n << " bytes from rank " << c.root; break;
    case Collective::kBarrier: break;
    default: s << ", n = " << c.n; break;
  }
  s << ") from '" << (c.site.empty() ? "(no site)" : c.site) << "'";
  return s.str();
}

std::string compare_fingerprints(const std::vector<CollectiveCall>& calls) {
  const int P = static_cast<int>(calls.size());
  auto differ = [&](int a, int b, const std::string& what) {
    return "collective mismatch (" + what + "): rank " + std::to_string(a) + " calls " + describe_call(calls[a]) +
           "; rank " + std::to_string(b) + " calls " + describe_call(calls[b]);
  };
  for (int r = 1; r < P; ++r) {
    const CollectiveCall &a = calls[0], &b = calls[r];
    if (a.seq != b.seq) return differ(0, r, "sequence numbers differ");
    if (!same_kind(a.kind, b.kind)) return differ(0, r, "different collectives");
    if (a.site != b.site) return differ(0, r, "different call sites");
    if (a.type != b.type) return differ(0, r, "different element types");
    switch (a.kind) {
      case Collective::kAllReduceSum:
      case Collective::kAllReduceMax:
        if (a.n != b.n) return differ(0, r, "different element counts");
        break;
      case Collective::kBroadcast:
        if (a.n != b.n || a.root != b.root) return differ(0, r, "different sizes or roots");
        break;
      case Collective::kAllGatherV:
        if (a.recv != b.recv) return differ(0, r, "different receive counts");
        break;
      default: break;
    }
  }
  for (int r = 0; r < P; ++r) {
    const CollectiveCall& a = calls[r];
    if (a.kind == Collective::kAllGatherV && a.recv[r] != a.n)
      return "collective mismatch (own block is not its receive count): rank " + std::to_string(r) + " calls " + describe_call(a);
    if (a.kind != Collective::kAllToAllV && a.kind != Collective::kAllToAllVStarted) continue;
    for (int q = 0; q < P; ++q)
      if (a.send[q] != calls[q].recv[r])
        return differ(r, q, "rank " + std::to_string(r) + " sends " + std::to_string(a.send[q]) + " elements to rank " +
                                std::to_string(q) + ", which expects " + std::to_string(calls[q].recv[r]));
  }
  return "";
}

}  // namespace tkg
