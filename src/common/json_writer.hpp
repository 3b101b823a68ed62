// A small streaming JSON writer for the human-readable outputs (meta.json, summary.json).
// Reading uses Boost.PropertyTree's JSON parser; writing needs typed numbers, which
// PropertyTree cannot emit, hence this writer.
//
//   JsonWriter w;  w.begin_object(); w.key("parts").value(4); w.end_object();  w.str() == "{\"parts\": 4}"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(const std::string& k);
  JsonWriter& value(const std::string& v);
  JsonWriter& value(const char* v) { return value(std::string(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(uint64_t v);
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  template <typename T>
  JsonWriter& array(const std::vector<T>& v) {
    begin_array();
    for (const auto& x : v) value(x);
    return end_array();
  }
  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  int depth_ = 0;
};

std::string json_escape(const std::string& s);

}  // namespace tkg
