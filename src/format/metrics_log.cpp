#include "format/metrics_log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace tkg {

namespace {

// Keeps the header and the rows of a resumed run's metrics that precede its checkpoint: rows
// with epoch <= keep_until and final == 0 (the final test row of an earlier attempt goes).
// Returns whether a header was kept.
bool trim_metrics(const std::string& csv_path, const std::string& jsonl_path, int64_t keep_until) {
  if (!path_exists(csv_path)) return false;
  std::istringstream in(read_file(csv_path));
  std::string header, line, kept_csv, kept_jsonl;
  if (!std::getline(in, header) || header.empty()) return false;
  std::vector<std::string> cols;
  {
    std::istringstream h(header);
    std::string c;
    while (std::getline(h, c, ',')) cols.push_back(c);
  }
  const auto epoch_col = std::find(cols.begin(), cols.end(), "epoch") - cols.begin();
  const auto final_col = std::find(cols.begin(), cols.end(), "final") - cols.begin();
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream l(line);
    std::string c;
    while (std::getline(l, c, ',')) f.push_back(c);
    bool k = static_cast<size_t>(epoch_col) < f.size() && std::atof(f[epoch_col].c_str()) <= static_cast<double>(keep_until);
    if (static_cast<size_t>(final_col) < f.size() && std::atof(f[final_col].c_str()) != 0) k = false;
    keep.push_back(k);
    if (k) kept_csv += line + "\n";
  }
  if (path_exists(jsonl_path)) {  // same rows, same order
    std::istringstream js(read_file(jsonl_path));
    for (size_t r = 0; std::getline(js, line); ++r)
      if (r < keep.size() && keep[r]) kept_jsonl += line + "\n";
  }
  write_file_atomic(csv_path, header + "\n" + kept_csv);
  write_file_atomic(jsonl_path, kept_jsonl);
  return true;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& csv_path, const std::string& jsonl_path, int64_t keep_until_epoch) {
  const bool append = keep_until_epoch >= 0 && trim_metrics(csv_path, jsonl_path, keep_until_epoch);
  const auto mode = append ? std::ios::app : std::ios::trunc;
  csv_.open(csv_path, mode);
  jsonl_.open(jsonl_path, mode);
  header_written_ = append;
  if (!csv_) throw InputError(csv_path, 0, "cannot create file");
  if (!jsonl_) throw InputError(jsonl_path, 0, "cannot create file");
}

void MetricsLog::add(const std::vector<std::pair<std::string, std::string>>& strings,
                     const std::vector<std::pair<std::string, double>>& numbers) {
  if (!header_written_) {
    bool first = true;
    for (auto& [k, v] : strings) csv_ << (first ? "" : ",") << k, first = false;
    for (auto& [k, v] : numbers) csv_ << (first ? "" : ",") << k, first = false;
    csv_ << "\n";
    header_written_ = true;
  }
  // The same values in both files: the CSV's 8 significant digits, read back for the JSON line.
  auto num = [](double v) {
    char buf[32];
    if (!std::isfinite(v)) return std::string("null");
    std::snprintf(buf, sizeof buf, "%.8g", v);
    return std::string(buf);
  };
  bool first = true;
  nlohmann::ordered_json js = nlohmann::ordered_json::object();
  for (auto& [k, v] : strings) {
    csv_ << (first ? "" : ",") << v;
    js[k] = v;
    first = false;
  }
  for (auto& [k, v] : numbers) {
    const std::string t = num(v);
    csv_ << (first ? "" : ",") << t;
    if (std::isfinite(v)) js[k] = std::strtod(t.c_str(), nullptr);
    else js[k] = nullptr;
    first = false;
  }
  csv_ << "\n";
  jsonl_ << js.dump() << "\n";
  csv_.flush();
  jsonl_.flush();
}

}  // namespace tkg
