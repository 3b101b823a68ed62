// The metric rows of a run (DESIGN §7): RUNDIR/metrics.csv and RUNDIR/metrics.jsonl, the same
// rows and values in both (the CSV's 8 significant digits). No torch here.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace tkg {

// Appends rows to a CSV file and a JSONL file with the same columns; the header is written on
// the first row. Values are numbers except the named string columns.
class MetricsLog {
 public:
  // keep_until_epoch >= 0 (a resumed run): keep the existing rows up to that epoch (not a final
  // test row) and append; else start new files.
  MetricsLog(const std::string& csv_path, const std::string& jsonl_path, int64_t keep_until_epoch = -1);
  void add(const std::vector<std::pair<std::string, std::string>>& string_cols,
           const std::vector<std::pair<std::string, double>>& number_cols);

 private:
  std::ofstream csv_, jsonl_;
  bool header_written_ = false;
};

}  // namespace tkg
