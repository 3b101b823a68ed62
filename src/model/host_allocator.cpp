#include "model/host_allocator.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <atomic>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

namespace tkg {

namespace {

constexpr size_t kLarge = size_t{1} << 20;  // blocks from this size on are mapped and cached
constexpr size_t kGranule = size_t{64} << 10;  // their sizes are rounded up to 64 KiB

class HostCache final : public c10::Allocator {
 public:
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return allocate_impl(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return const_cast<HostCache*>(this)->allocate_impl(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &HostCache::free_block; }

  void set_cap(int64_t cap) {
    std::lock_guard<std::mutex> g(mu_);
    cap_ = cap < 0 ? 0 : static_cast<size_t>(cap);
    evict_until(cap_);
  }
  void release() {
    std::lock_guard<std::mutex> g(mu_);
    evict_until(0);
  }
  HostCacheStats stats() {
    std::lock_guard<std::mutex> g(mu_);
    HostCacheStats s;
    s.cap = static_cast<int64_t>(cap_), s.cached = static_cast<int64_t>(cached_), s.peak_cached = static_cast<int64_t>(peak_cached_);
    s.mapped = static_cast<int64_t>(mapped_), s.hits = hits_, s.misses = misses_;
    return s;
  }
  static HostCache& instance() {
    static HostCache* c = new HostCache();  // never destroyed: tensors may outlive static destructors
    return *c;
  }

 private:
  struct Free {
    void* p;
    size_t bytes;
  };

  c10::DataPtr allocate_impl(size_t n) {
    if (n < kLarge) {
      void* small = c10::alloc_cpu(n);
      return {small, small, &HostCache::free_small, c10::Device(c10::DeviceType::CPU)};
    }
    const size_t bytes = (n + kGranule - 1) / kGranule * kGranule;
    void* p = take(bytes);
    if (!p) {
      p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) {
        release();  // the cached blocks back to the system, then once more
        p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
      }
      std::lock_guard<std::mutex> g(mu_);
      mapped_ += bytes;
      ++misses_;
      sizes_[p] = bytes;
    }
    return {p, p, &HostCache::free_block, c10::Device(c10::DeviceType::CPU)};
  }

  // A cached block of `bytes` up to 1/8 larger (the smallest such), or null.
  void* take(size_t bytes) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = by_size_.lower_bound(bytes);
    if (it == by_size_.end() || it->first > bytes + bytes / 8) return nullptr;
    auto node = it->second;
    void* p = node->p;
    cached_ -= node->bytes;
    by_size_.erase(it);
    lru_.erase(node);
    ++hits_;
    return p;
  }

  void give_back(void* p) {
    std::unique_lock<std::mutex> g(mu_);
    auto s = sizes_.find(p);
    if (s == sizes_.end()) return;  // not one of ours (cannot happen: only our blocks get this deleter)
    const size_t bytes = s->second;
    if (bytes > cap_) {
      sizes_.erase(s);
      mapped_ -= bytes;
      g.unlock();
      ::munmap(p, bytes);
      return;
    }
    evict_until(cap_ - bytes);
    lru_.push_back(Free{p, bytes});
    by_size_.emplace(bytes, std::prev(lru_.end()));
    cached_ += bytes;
    if (cached_ > peak_cached_) peak_cached_ = cached_;
  }

  // Unmaps the oldest cached blocks until at most `limit` bytes are cached (mu_ held).
  void evict_until(size_t limit) {
    while (cached_ > limit && !lru_.empty()) {
      Free f = lru_.front();
      auto range = by_size_.equal_range(f.bytes);
      for (auto it = range.first; it != range.second; ++it)
        if (it->second == lru_.begin()) {
          by_size_.erase(it);
          break;
        }
      lru_.pop_front();
      cached_ -= f.bytes;
      mapped_ -= f.bytes;
      sizes_.erase(f.p);
      ::munmap(f.p, f.bytes);
    }
  }

  static void free_block(void* p) {
    if (p) instance().give_back(p);
  }
  static void free_small(void* p) { c10::free_cpu(p); }

  std::mutex mu_;
  size_t cap_ = 0, cached_ = 0, peak_cached_ = 0, mapped_ = 0;
  int64_t hits_ = 0, misses_ = 0;
  std::list<Free> lru_;                                     // cached blocks, oldest first
  std::multimap<size_t, std::list<Free>::iterator> by_size_;  // the same by size
  std::unordered_map<void*, size_t> sizes_;                  // every mapped block (in use or cached)
};

std::atomic<bool> g_installed{false};

}  // namespace

void install_host_cache(int64_t cap_bytes) {
  HostCache& c = HostCache::instance();
  c.set_cap(cap_bytes);
  if (!g_installed.exchange(true)) c10::SetCPUAllocator(&c, /*priority=*/1);
}

void release_host_cache() {
  if (g_installed) HostCache::instance().release();
}

HostCacheStats host_cache_stats() { return g_installed ? HostCache::instance().stats() : HostCacheStats{}; }

bool host_cache_installed() { return g_installed; }

}  // namespace tkg
