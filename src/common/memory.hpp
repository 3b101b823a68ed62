// The process's memory as the kernel counts it (Linux /proc and cgroups), for the memory plan
// (run/memory_plan) and its check against what a run really used. No torch here.
#pragma once

#include <cstdint>

namespace tkg {

int64_t current_rss_bytes();  // resident set now (/proc/self/statm)
int64_t peak_rss_bytes();     // high-water mark of the resident set (getrusage ru_maxrss)
// Memory this process may still take: the smaller of MemAvailable (/proc/meminfo) and the
// cgroup's limit minus its usage (cgroup v2 memory.max, or v1 memory.limit_in_bytes), plus this
// process's own resident set (it is already counted as used). -1 when neither can be read.
// TKG_MEMORY_AVAILABLE_MB in the environment replaces MemAvailable (plan for a smaller machine
// than this one, or test the plan's refusal).
int64_t available_memory_bytes();
// Total memory of the machine (MemTotal), or -1.
int64_t total_memory_bytes();

// Large blocks (1 MiB and up) straight from mmap and back to the kernel when freed, instead of
// glibc's default, which raises its mmap threshold after every free of a large block (up to
// 32 MiB) and then keeps the freed tensors of one step in its heap: the resident set then grows
// past what is live (measured: 14 % of a run's peak, docs/memory.md). Left alone when the user
// set MALLOC_MMAP_THRESHOLD_. Call first thing in main.
void tune_allocator();

// With TKG_MEMORY_TRACE=1 in the environment: logs "memory at <where>: rss X MiB, peak Y MiB"
// (every rank, its own line). A no-op otherwise. For finding where a run's bytes go.
void memory_mark(const char* where);

}  // namespace tkg
