#include "run/report.hpp"

#include <cmath>
#include <cstdio>

namespace tkg {

namespace {

int64_t quant_levels(const ModelOptions& m) { return m.quant.bits ? int64_t{1} << m.quant.bits : 0; }

}  // namespace

QuantBytes quant_bytes(const ModelOptions& m) {
  const double d = m.dim, L = static_cast<double>(quant_levels(m));
  const double packed = std::ceil(d * m.quant.bits / 8.0);
  // fp32: table + 2 AdamW moments; GNAQ: fp32 master levels + 2 moments + unpacked codes.
  return QuantBytes{4 * d, packed + L, 12 * d, 12 * L + d, 4 * (d + 1), packed + L + 4};
}

void print_quant_accounting(const ModelOptions& m, int64_t epoch) {
  QuantBytes b = quant_bytes(m);
  std::printf("GNAQ from epoch %lld: b=%d, %lld levels/node; bytes per node: stored model %.0f (fp32 %.0f, %.1fx "
              "smaller), training state %.0f (fp32 %.0f), layer-0 halo row on the wire %.0f (fp32 %.0f)\n",
              static_cast<long long>(epoch), m.quant.bits, static_cast<long long>(quant_levels(m)), b.model_quant,
              b.model_fp32, b.model_fp32 / b.model_quant, b.state_quant, b.state_fp32,
              m.quant.fp8_halo ? b.wire_quant : b.wire_fp32 + 4 * quant_levels(m) * m.quant.concat_levels,
              b.wire_fp32);
  std::fflush(stdout);
}

std::vector<std::pair<std::string, double>> metric_columns(const MetricSums& m, bool with_ci) {
  std::vector<std::pair<std::string, double>> out;
  for (const std::string& name : m.names()) {
    out.emplace_back(name, m.mean(name));
    if (with_ci) out.emplace_back(name + "_ci95", m.ci95(name));
  }
  return out;
}

std::string metric_text(const MetricSums& m, const std::string& name, bool with_ci) {
  char buf[96];
  if (with_ci) std::snprintf(buf, sizeof buf, "%s %.4f ± %.4f", name.c_str(), m.mean(name), m.ci95(name));
  else std::snprintf(buf, sizeof buf, "%s %.4f", name.c_str(), m.mean(name));
  return buf;
}

void print_test_table(const MetricSums& test, const std::vector<int>& ks, const std::string& val_name,
                      int64_t best_epoch, bool with_ci) {
  std::printf("\ntest at best %s epoch %lld (%lld users%s):\n  %-4s %10s %10s %14s %10s%s\n", val_name.c_str(),
              static_cast<long long>(best_epoch), static_cast<long long>(test.users),
              with_ci ? ", sampled; ± = 95 % CI" : "", "K", "precision", "recall", "recall_capped", "ndcg",
              with_ci ? "   ± ndcg" : "");
  for (int k : ks) {
    std::string s = "@" + std::to_string(k);
    std::printf("  %-4d %10.4f %10.4f %14.4f %10.4f", k, test.mean("precision" + s), test.mean("recall" + s),
                test.mean("recall_capped" + s), test.mean("ndcg" + s));
    if (with_ci) std::printf("   %.4f", test.ci95("ndcg" + s));
    std::printf("\n");
  }
}

void print_run_banner(const RunBanner& b, const ModelOptions& m, const TrainOptions& t) {
  std::printf("tkg-train: %d rank(s), %s backend%s, device %s, %d thread(s)/rank (%s); %lld users, %lld items, "
              "%lld train lines; L=%d d=%d attention=%s%s; %s lr=%g weight_decay=%g reg=%g; batch %s; negatives: %lld per line, %s\n",
              b.ranks, b.backend.c_str(), b.rows_backend.empty() ? "" : (", rows over " + b.rows_backend).c_str(),
              b.device.c_str(), b.threads, b.threads_source.c_str(), static_cast<long long>(b.users),
              static_cast<long long>(b.items), static_cast<long long>(b.train_lines), m.layers, m.dim, m.attention.c_str(),
              m.use_beta ? "" : " (no beta)", t.optimizer.c_str(), t.lr, t.weight_decay, t.reg,
              t.batch_size > 0 ? (std::to_string(t.batch_size) + " lines").c_str() : "full", static_cast<long long>(t.negatives),
              b.negatives.c_str());
  if (b.ranks > 1)
    std::printf("halo exchange: %.2f MiB per layer (all ranks, d=%d + beta, fp32)\n", b.halo_bytes_layer / (1 << 20), m.dim);
}

}  // namespace tkg
