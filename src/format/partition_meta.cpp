#include "format/partition_meta.hpp"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "format/shard_file.hpp"

namespace tkg {

std::string shard_file_name(int32_t rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05d.bin", rank);
  return buf;
}

std::string meta_to_json(const PartitionMeta& m) {
  nlohmann::ordered_json w = nlohmann::ordered_json::object();
  char id[24];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(m.partition_id));
  w["format_version"] = static_cast<int64_t>(kShardFormatVersion);
  w["partition_id"] = std::string(id);
  w["n_users"] = m.n_users;
  w["n_items"] = m.n_items;
  w["n_edges"] = m.n_edges;
  w["n_train_lines"] = m.n_train_lines;
  w["parts"] = static_cast<int64_t>(m.parts);
  w["method"] = m.method;
  w["seed"] = m.seed;
  w["ncon"] = static_cast<int64_t>(m.ncon);
  w["objective"] = m.objective;
  w["imbalance"] = m.imbalance;
  const PartitionStats& s = m.stats;
  w["edge_cut"] = s.edge_cut;
  w["edge_cut_pct"] = s.edge_cut_pct;
  w["halo_total"] = s.halo_total;
  w["halo_max"] = s.halo_max;
  w["node_imbalance"] = s.node_imbalance;
  w["edge_imbalance"] = s.edge_imbalance;
  w["halo_bytes_per_layer_d64_fp32"] = s.halo_bytes_per_layer;
  w["seconds"] = m.seconds;
  w["peak_rss_mb"] = m.peak_rss_mb;
  if (!m.peak_rss_mb_per_process.empty()) {
    w["processes"] = static_cast<int64_t>(m.processes);
    w["peak_rss_mb_per_process"] = m.peak_rss_mb_per_process;
  }
  w["owned_per_rank"] = s.owned_per_rank;
  w["owned_users_per_rank"] = s.owned_users_per_rank;
  w["halo_per_rank"] = s.halo_per_rank;
  w["local_edges_per_rank"] = s.local_edges_per_rank;
  w["inputs"] = nlohmann::ordered_json::array();
  for (const FileInfo& f : m.inputs) {
    char crc[12];
    std::snprintf(crc, sizeof crc, "%08x", f.crc32);
    w["inputs"].push_back(nlohmann::ordered_json::object());
    w["inputs"].back()["split"] = f.split;
    w["inputs"].back()["path"] = f.path;
    w["inputs"].back()["format"] = text_format_name(f.format);
    w["inputs"].back()["bytes"] = static_cast<uint64_t>(f.bytes);
    w["inputs"].back()["crc32"] = std::string(crc);
    w["inputs"].back()["lines"] = f.lines;
  }
  w["shards"] = nlohmann::ordered_json::array();
  for (int32_t r = 0; r < m.parts; ++r) w["shards"].push_back(shard_file_name(r));
  return w.dump(2) + "\n";
}

PartitionMeta read_partition_meta(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "meta.json").string();
  std::string text = read_file(path);
  nlohmann::json pt;
  try {
    pt = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path, 0, std::string("malformed JSON: ") + e.what());
  }
  PartitionMeta m;
  try {
    int64_t version = pt.at("format_version").get<int64_t>();
    if (version != kShardFormatVersion)
      throw InputError(path, 0, "partition format version " + std::to_string(version) + ", this build reads " +
                                    std::to_string(kShardFormatVersion) + " (re-run tkg-partition)");
    m.partition_id = std::stoull(pt.at("partition_id").get<std::string>(), nullptr, 16);
    m.n_users = pt.at("n_users").get<int64_t>();
    m.n_items = pt.at("n_items").get<int64_t>();
    m.n_edges = pt.at("n_edges").get<int64_t>();
    m.n_train_lines = pt.at("n_train_lines").get<int64_t>();
    m.parts = pt.at("parts").get<int32_t>();
    m.method = pt.at("method").get<std::string>();
    m.seed = pt.at("seed").get<uint64_t>();
    m.ncon = pt.at("ncon").get<int>();
    m.objective = pt.at("objective").get<std::string>();
    m.imbalance = pt.at("imbalance").get<double>();
    m.stats.edge_cut = pt.at("edge_cut").get<int64_t>();
    m.stats.edge_cut_pct = pt.at("edge_cut_pct").get<double>();
    m.stats.halo_total = pt.at("halo_total").get<int64_t>();
    m.stats.halo_max = pt.at("halo_max").get<int64_t>();
    m.stats.node_imbalance = pt.at("node_imbalance").get<double>();
    m.stats.edge_imbalance = pt.at("edge_imbalance").get<double>();
    m.seconds = pt.at("seconds").get<double>();
    m.peak_rss_mb = pt.at("peak_rss_mb").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, 0, std::string("missing or malformed field: ") + e.what());
  } catch (const std::invalid_argument&) {
    throw InputError(path, 0, "malformed partition_id");
  }
  if (m.parts < 1) throw InputError(path, 0, "parts must be >= 1");
  return m;
}

}  // namespace tkg
