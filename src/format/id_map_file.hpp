// Id maps of a remapped dataset (data.remap_ids): DIR/user_ids.txt and DIR/item_ids.txt, one
// original id per line, line k = dense id k. Written beside a partition's shards and a run's
// exports; read whole here (small maps) or by byte ranges across ranks (run/id_names). No torch.
#pragma once

#include <string>
#include <vector>

namespace tkg {

std::string id_map_path(const std::string& dir, const std::string& kind);  // kind: user | item

// Writes both maps atomically; a no-op when both are empty (ids were not remapped).
void write_id_maps(const std::vector<std::string>& user_names, const std::vector<std::string>& item_names,
                   const std::string& dir);
// Empty when the file does not exist.
std::vector<std::string> read_id_map(const std::string& dir, const std::string& kind);

}  // namespace tkg
