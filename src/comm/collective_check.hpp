// The debug check of collective participation (TKG_DEBUG_COLLECTIVES=1, DESIGN §4 "Collective
// participation by construction"): before each collective every rank all-gathers a fingerprint
// of the call it is about to make, and every rank compares them. The first mismatch names each
// rank's collective, its counts and its call site, on every rank alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.hpp"

namespace tkg {

// What one rank is about to call.
struct CollectiveCall {
  Collective kind = Collective::kBarrier;
  DType type = DType::kUInt8;
  uint64_t seq = 0;                // sequence number on its communicator (1, 2, ...)
  int64_t n = 0;                   // elements (reductions, own all-gather block), bytes (broadcast)
  int32_t root = -1;               // broadcast root
  std::string site;                // call site (truncated to kSiteBytes - 1 characters on the wire)
  std::vector<int64_t> send, recv; // per-peer counts (all-to-all-v: both; all-gather-v: recv)
};

constexpr int64_t kSiteBytes = 56;

// Bytes of one fingerprint in a world of P ranks.
int64_t fingerprint_bytes(int P);
// The fingerprint of `c` ([fingerprint_bytes(P)] bytes).
std::vector<uint8_t> encode_fingerprint(const CollectiveCall& c, int P);
CollectiveCall decode_fingerprint(const uint8_t* bytes, int P);
// Checks P gathered fingerprints (rank order): "" when the calls agree (same kind, sequence,
// type, size and root, same call site, all-to-all-v counts that pair up, the same all-gather-v
// counts with each rank's own block), else a message naming the first disagreement.
std::string compare_fingerprints(const std::vector<CollectiveCall>& calls);
// "all_to_all_v #12 (float32, send [0 4], recv [0 0]) from 'negative_fetch.backward'"
std::string describe_call(const CollectiveCall& c);

}  // namespace tkg
