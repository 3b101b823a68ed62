#include "app/config.hpp"

#include <gtest/gtest.h>

#include <boost/program_options/errors.hpp>

#include "common/error.hpp"
#include "../support/temp_dir.hpp"

namespace {

tkg::ParsedConfig parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"tkg-train"};
  for (auto& a : args) argv.push_back(a.c_str());
  return tkg::parse_train_config(static_cast<int>(argv.size()), argv.data());
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, FileValuesAndCommandLineOverrides) {
  tkg::testing::TempDir d;
  std::string ini = d.write("c.ini", "[data]\ndir = " + d.path() + "\n[model]\nlayers = 4\n[train]\nlr = 0.1\n[output]\ndir = " +
                                         d.file("run") + "\n");
  tkg::ParsedConfig pc = parse({"--config", ini, "--train.lr", "0.02", "--out", d.file("other")});
  EXPECT_EQ(pc.run.model.layers, 4);
  EXPECT_DOUBLE_EQ(pc.run.train.lr, 0.02);  // command line wins
  EXPECT_EQ(pc.run.out_dir, d.file("other"));
  EXPECT_EQ(pc.run.data_dir, d.path());
  EXPECT_NE(pc.run.config_text.find("lr = 0.02"), std::string::npos);
}

TEST(Config, ErrorsAreClear) {
  tkg::testing::TempDir d;
  std::string base = "[data]\ndir = " + d.path() + "\n[output]\ndir = " + d.file("run") + "\n";
  std::string unknown = d.write("u.ini", base + "[model]\nlayerz = 3\n");
  EXPECT_NE(error_of([&] { parse({"--config", unknown}); }).find("layerz"), std::string::npos);
  std::string ok = d.write("ok.ini", base);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--model.layers", "-1"}); }).find("model.layers"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--eval.ks", "20,10"}); }).find("ascending"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--eval.metric", "ndcg@50"}); }).find("K=50"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--model.attention", "gat"}); }).find("model.attention"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.lr", "abc"}); }).find("train.lr"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--data", d.file("missing")}); }).find("does not exist"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", d.file("none.ini")}); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--out", d.file("x")}); }).find("exactly one"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--model.device", "gpu"}); }).find("model.device"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--model.device", "cuda:x"}); }).find("cuda:N"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.tensor_comm", "gloo"}); }).find("train.tensor_comm"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.tensor_comm", "nccl"}); }).find("model.device = cuda"),
            std::string::npos);
  EXPECT_EQ(parse({"--config", ok, "--model.device", "cuda:1"}).run.model.device, "cuda:1");
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.optimizer", "sgd"}); }).find("train.optimizer"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.negatives", "0"}); }).find("train.negatives"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.lr_schedule", "step"}); }).find("train.lr_schedule"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.lr_warmup", "-1"}); }).find("train.lr_warmup"), std::string::npos);
  EXPECT_EQ(parse({"--config", ok, "--train.optimizer", "adam", "--train.negatives", "4"}).run.train.negatives, 4);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.moments", "fp16"}); }).find("train.moments"), std::string::npos);
  EXPECT_NE(error_of([&] { parse({"--config", ok, "--train.moments", "bf16", "--model.device", "cuda"}); }).find("CPU models"),
            std::string::npos);
  EXPECT_EQ(parse({"--config", ok, "--train.moments", "bf16"}).run.train.moments, "bf16");
}
