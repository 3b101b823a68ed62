#include "format/id_map_file.hpp"

#include <filesystem>
#include <sstream>

#include "common/fs.hpp"

namespace tkg {

std::string id_map_path(const std::string& dir, const std::string& kind) {
  return (std::filesystem::path(dir) / (kind + "_ids.txt")).string();
}

void write_id_maps(const std::vector<std::string>& user_names, const std::vector<std::string>& item_names,
                   const std::string& dir) {
  if (user_names.empty() && item_names.empty()) return;
  for (const auto& [kind, names] : {std::make_pair("user", &user_names), std::make_pair("item", &item_names)}) {
    std::string out;
    for (const std::string& n : *names) out += n + "\n";
    write_file_atomic(id_map_path(dir, kind), out);
  }
}

std::vector<std::string> read_id_map(const std::string& dir, const std::string& kind) {
  const std::string path = id_map_path(dir, kind);
  std::vector<std::string> out;
  if (!path_exists(path)) return out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

}  // namespace tkg
