// Shared by the fuzz targets: the input as a file (the loaders read files), and the rule that a
// loader may only refuse bad input with InputError — any other exception, a crash, a sanitizer
// report or an allocation beyond libFuzzer's -rss_limit_mb is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tkg::fuzz {

// Writes the input to a per-process scratch file and returns its path.
inline std::string as_file(const uint8_t* data, size_t size, const char* name) {
  static const std::string dir = [] {  // under $TMPDIR (scripts/fuzz.sh removes its own when done)
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t && *t ? t : "/tmp") + "/tkg-fuzz-XXXXXX";
    return std::string(mkdtemp(tmpl.data()));
  }();
  const std::string path = dir + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace tkg::fuzz
