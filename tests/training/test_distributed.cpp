// Training in several processes (training/distributed.h): the environment, the data split, the
// weights checksum, cross-replica batch norm over 2 real ranks (Gloo on loopback), and gan-train
// as 2 processes against 1 at the same global batch: equal with --cross_replica, a killed rank
// stopping the other, a resume with another world size, a test whose samples the ranks share.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>

#include "libbiggan/training/cross_replica_bn.h"
#include "libbiggan/training/distributed.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "tests/training/tiny_run.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

using Env = std::map<std::string, std::string>;
DistributedEnv parse(const Env& env) {
  return parse_distributed_env([&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A TCP port free on loopback now (the rendezvous binds it a moment later).
int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  close(s);
  return port;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// `n` ranks of `cmd` through scripts/launch-local.sh (logs in log_dir/rank<R>.log); its status.
int launch(int n, const std::string& cmd, const fs::path& log_dir, int timeout_s = 300) {
  const std::string line = "LAUNCH_LOG_DIR=" + quote(log_dir.string()) + " MASTER_PORT=" + std::to_string(free_port()) +
                           " timeout " + std::to_string(timeout_s) + " " +
                           quote(std::string(BIGGAN_SOURCE_DIR) + "/scripts/launch-local.sh") + " " +
                           std::to_string(n) + " " + cmd;
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string gan_train_cmd(const std::vector<std::string>& args) {
  std::string cmd = quote(test::tool_path("gan-train").string());
  for (const auto& a : args) cmd += " " + quote(a);
  return cmd;
}

// The tiny run with the reference's options on: D steps, accumulations, EMA, ortho, hier, a shared
// embedding and attention in G and D; named, so every run's folders are found the same way.
std::vector<std::string> reference_options_run(const fs::path& root, const fs::path& data,
                                               std::vector<std::string> extra) {
  std::vector<std::string> more = {"--experiment_name", "dist", "--num_D_steps", "2", "--num_D_accumulations", "2",
                                   "--num_G_accumulations", "2", "--G_ortho", "1e-4", "--D_ortho", "1e-4",
                                   "--hier", "--G_shared", "--shared_dim", "8", "--G_attn", "16", "--D_attn", "16",
                                   "--dist_timeout", "60"};
  more.insert(more.end(), extra.begin(), extra.end());
  return test::tiny_args(root, data, more);
}

// The largest difference between two saves' tensors (G, D, G_ema), relative to each tensor's
// largest magnitude; `buffers_too` false leaves out batch-norm statistics (stored_*, running_*).
// With !buffers_too, attention's gamma is not compared either: it starts at 0, and over the first
// iterations its gradient (a sum over the whole feature map that nearly cancels) flips sign with the
// rounding, so two runs' gammas are a few Adam steps of +-lr apart, huge relative to their size
// (0.61 on an AMD EPYC after 20 iterations, under 0.5 on the Xeons); the losses bound the effect.
double max_relative_difference(const fs::path& wa, const fs::path& wb, bool buffers_too, std::string& worst) {
  const std::vector<std::string> parts = {"G", "D", "G_ema"};
  auto a = load_weights_folder(wa, "", parts), b = load_weights_folder(wb, "", parts);
  double most = 0;
  auto compare = [&](const StateDict& x, const StateDict& y, const std::string& part) {
    REQUIRE(x.size() == y.size());
    for (const auto& kv : x) {
      const auto& k = kv.key();
      const bool bn_stat = k.find("stored_") != std::string::npos || k.find("running_") != std::string::npos ||
                           k.find("num_batches") != std::string::npos;
      if (bn_stat && !buffers_too) continue;
      if (!buffers_too && k.size() > 6 && k.compare(k.size() - 6, 6, ".gamma") == 0) continue;
      // G's block conv biases feed a batch norm, which removes any per-channel constant: their true
      // gradient is 0, what they get is rounding noise, and Adam turns noise of any size into steps
      // of +-lr. Two runs' rounding differs, so these are not compared.
      if (part != "D" && k.rfind("blocks.", 0) == 0 && k.find(".conv") != std::string::npos &&
          k.size() > 5 && k.compare(k.size() - 5, 5, ".bias") == 0)
        continue;
      const auto u = kv.value().to(torch::kDouble), v = y[k].to(torch::kDouble);
      const double scale = std::max(v.abs().max().item<double>(), 1e-12);
      const double d = (u - v).abs().max().item<double>() / scale;
      if (d > most) most = d, worst = part + "." + k;
    }
  };
  compare(a.G, b.G, "G");
  compare(a.D, b.D, "D");
  compare(a.G_ema, b.G_ema, "G_ema");
  return most;
}

// The largest relative difference between two runs' logged losses, iteration by iteration.
double max_loss_difference(const fs::path& la, const fs::path& lb) {
  auto read = [](const fs::path& p) {
    std::vector<Json> out;
    std::istringstream in(read_file(p));
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
  };
  const auto a = read(la / "train_log.jsonl"), b = read(lb / "train_log.jsonl");
  REQUIRE(a.size() == b.size());
  double most = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* k : {"G_loss", "D_loss_real", "D_loss_fake"}) {
      const double x = a[i][k].as_double(), y = b[i][k].as_double();
      most = std::max(most, std::abs(x - y) / std::max(std::abs(y), 1e-12));
    }
  return most;
}

std::string rank_logs(const fs::path& dir, int ranks = 2) {
  std::string out;
  for (int r = 0; r < ranks; ++r)
    if (fs::exists(dir / ("rank" + std::to_string(r) + ".log")))
      out += "rank " + std::to_string(r) + ":\n" + read_file(dir / ("rank" + std::to_string(r) + ".log"));
  return out;
}

}  // namespace

TEST_CASE("the torchrun environment: none set is one process; a bad value names its variable", "[distributed]") {
  CHECK_FALSE(parse({}).active());
  auto e = parse({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"},
                  {"MASTER_PORT", "29400"}});
  CHECK(e.active());
  CHECK(e.rank == 1);
  CHECK(e.world_size == 4);
  CHECK(e.master_addr == "10.0.0.2");
  CHECK(e.master_port == 29400);
  CHECK(parse({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).world_size == 1);  // one rank: no address needed
  CHECK_THAT(error_of([] { parse({{"RANK", "0"}}); }), Catch::Contains("WORLD_SIZE"));
  CHECK_THAT(error_of([] { parse({{"WORLD_SIZE", "2"}}); }), Catch::Contains("RANK"));
  CHECK_THAT(error_of([] { parse({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }), Catch::Contains("RANK: '2'"));
  CHECK_THAT(error_of([] { parse({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }), Catch::Contains("RANK: 'x'"));
  CHECK_THAT(error_of([] { parse({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}); }),
             Catch::Contains("MASTER_PORT"));
  CHECK_THAT(error_of([] { parse({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}); }),
             Catch::Contains("MASTER_PORT: '70000'"));
  CHECK_THAT(error_of([] { resolve_backend("mpi", torch::kCPU); }), Catch::Contains("'mpi'"));
  CHECK_THAT(error_of([] { resolve_backend("nccl", torch::kCPU); }), Catch::Contains("nccl"));
}

TEST_CASE("each rank reads its share of every global chunk, in the reference's order", "[distributed]") {
  // 2 iterations of 2 chunks of 4 (and a short third iteration, dropped), over 2 ranks.
  const auto order = torch::arange(100, 120, torch::kInt64);
  const auto r0 = rank_share_of_order(order, 8, 4, 0, 2), r1 = rank_share_of_order(order, 8, 4, 1, 2);
  CHECK(torch::equal(r0, torch::tensor({100, 101, 104, 105, 108, 109, 112, 113}, torch::kInt64)));
  CHECK(torch::equal(r1, torch::tensor({102, 103, 106, 107, 110, 111, 114, 115}, torch::kInt64)));
  CHECK(torch::equal(rank_share_of_order(order, 8, 4, 0, 1), order.slice(0, 0, 16)));
  CHECK_THROWS_WITH(rank_share_of_order(order, 8, 4, 0, 3), Catch::Contains("3 processes"));
}

TEST_CASE("the weights checksum changes with any bit or position", "[distributed]") {
  torch::manual_seed(3);
  const std::vector<torch::Tensor> w = {torch::randn({5, 3}), torch::randn({7})};
  CHECK(weights_checksum(w) == weights_checksum({w[0].clone(), w[1].clone()}));
  auto flipped = w[1].clone();
  flipped.view(torch::kInt32).data_ptr<int32_t>()[2] ^= 1;  // the last bit of one float
  CHECK(weights_checksum(w) != weights_checksum({w[0], flipped}));
  CHECK(weights_checksum(w) != weights_checksum({w[0], w[1].flip(0)}));
  CHECK(weights_checksum(w) != weights_checksum({w[1], w[0]}));
}

TEST_CASE("joined batch norm on one rank equals torch's batch norm, gradients and running statistics included",
          "[distributed]") {
  torch::manual_seed(11);
  const auto x0 = torch::randn({6, 3, 4, 4}) * 3 + 1, w = torch::randn({6, 3, 4, 4});
  auto xa = x0.clone().requires_grad_(true), xb = x0.clone().requires_grad_(true);
  auto ma = torch::zeros({3}), va = torch::ones({3}), mb = torch::zeros({3}), vb = torch::ones({3});
  auto ya = joined_batch_norm(xa, ma, va, 0.1, 1e-5, [](const torch::Tensor& t) { return t; });
  auto yb = torch::batch_norm(xb, {}, {}, mb, vb, true, 0.1, 1e-5, true);
  (ya * w).sum().backward();
  (yb * w).sum().backward();
  CHECK(torch::allclose(ya, yb, 1e-5, 1e-5));
  CHECK(torch::allclose(xa.grad(), xb.grad(), 1e-4, 1e-5));
  CHECK(torch::allclose(ma, mb, 1e-6, 1e-6));
  CHECK(torch::allclose(va, vb, 1e-6, 1e-6));
}

// Run by the next test case, once per rank (RANK etc. set by scripts/launch-local.sh).
TEST_CASE("cross-replica batch norm, one rank's part", "[.][distributed_bn_rank]") {
  const char* out_dir = std::getenv("BIGGAN_BN_DIR");
  REQUIRE(out_dir);
  at::set_num_threads(1);
  const auto env = distributed_env_from_environment();
  auto dist = Distributed::connect(env, {"gloo", std::chrono::seconds(60)}, torch::kCPU);
  torch::manual_seed(7);
  const auto x_all = torch::randn({8, 3, 4, 4}) * 2 + 0.5, w_all = torch::randn({8, 3, 4, 4});
  const int64_t b = 8 / env.world_size;
  auto x = x_all.slice(0, env.rank * b, (env.rank + 1) * b).clone().requires_grad_(true);
  SyncBN bn(3, 1e-5, 0.1);
  bn->train();
  CrossReplicaBatchNorm joined(*bn, *dist);
  REQUIRE(joined.layers() == 1);
  auto y = bn->forward(x, {}, {});
  (y * w_all.slice(0, env.rank * b, (env.rank + 1) * b)).sum().backward();
  torch::save(std::vector<torch::Tensor>{y.detach(), x.grad(), bn->running_mean, bn->running_var},
              std::string(out_dir) + "/rank" + std::to_string(env.rank) + ".pt");
}

TEST_CASE("cross-replica batch norm over 2 ranks equals batch norm over the joined batch", "[distributed]") {
  test::TempDir tmp;
  const auto self = fs::read_symlink("/proc/self/exe").string();
  const int rc = launch(2, "env BIGGAN_BN_DIR=" + quote(tmp.path.string()) + " " + quote(self) +
                               " '[distributed_bn_rank]'", tmp.path / "logs", 120);
  INFO(rank_logs(tmp.path / "logs"));
  REQUIRE(rc == 0);
  torch::manual_seed(7);
  const auto x_all = torch::randn({8, 3, 4, 4}) * 2 + 0.5, w_all = torch::randn({8, 3, 4, 4});
  auto x = x_all.clone().requires_grad_(true);
  auto mean = torch::zeros({3}), var = torch::ones({3});
  auto y = torch::batch_norm(x, {}, {}, mean, var, true, 0.1, 1e-5, true);
  (y * w_all).sum().backward();
  for (int r = 0; r < 2; ++r) {
    std::vector<torch::Tensor> got;
    torch::load(got, (tmp.path / ("rank" + std::to_string(r) + ".pt")).string());
    REQUIRE(got.size() == 4);
    INFO("rank " << r);
    CHECK(torch::allclose(got[0], y.slice(0, r * 4, r * 4 + 4), 1e-5, 1e-5));
    CHECK(torch::allclose(got[1], x.grad().slice(0, r * 4, r * 4 + 4), 1e-4, 1e-5));
    CHECK(torch::allclose(got[2], mean, 1e-6, 1e-6));
    CHECK(torch::allclose(got[3], var, 1e-6, 1e-6));
  }
}

TEST_CASE("gan-train: 2 ranks with --cross_replica equal 1 process at the same batch; without, BN differs",
          "[distributed]") {
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  // One step of 1 process and of 2 ranks with `flags`; prints and returns the largest relative
  // differences of parameters (BN statistics included) and of losses.
  auto compare = [&](const std::string& name, const std::vector<std::string>& flags, const std::string& what) {
    const auto one = tmp / (name + "_one"), two = tmp / (name + "_two");
    REQUIRE(test::run_gan_train(reference_options_run(one, data, flags), tmp / (name + "_one.log")) == 0);
    const int rc = launch(2, gan_train_cmd(reference_options_run(two, data, flags)), tmp / (name + "_logs"));
    INFO(rank_logs(tmp / (name + "_logs")));
    REQUIRE(rc == 0);
    std::string worst;
    const double params = max_relative_difference(one / "weights" / "dist", two / "weights" / "dist", true, worst);
    const double losses = max_loss_difference(one / "logs" / "dist", two / "logs" / "dist");
    std::cout << "2 ranks vs 1 process, 1 step, " << what << ": parameters and BN statistics within " << params
              << " relative (worst " << worst << "), losses within " << losses << "\n";
    // Rank 1 wrote nothing: rank 0 alone writes logs and weights (one folder each).
    CHECK(test::count_lines(two / "logs" / "dist" / "train_log.jsonl") == 1);
    return std::make_pair(params, losses);
  };
  const auto exact = compare("xr", {"--total_itr", "1", "--cross_replica"}, "--cross_replica");
  CHECK(exact.first < 1e-5);
  CHECK(exact.second < 1e-5);
  // With DiffAugment, every rank draws for the global batch and keeps its rows: still the 1-process run.
  const auto aug = compare("aug", {"--total_itr", "1", "--cross_replica", "--DiffAugment", "color,translation,cutout"},
                           "--cross_replica --DiffAugment color,translation,cutout");
  CHECK(aug.first < 1e-5);
  CHECK(aug.second < 1e-5);
  // Without --cross_replica each rank normalises its own half: the run is consistent (the weights
  // checksum at the save passed), but it is not the 1-process run.
  const auto plain = compare("plain", {"--total_itr", "1"}, "without --cross_replica");
  CHECK(plain.second > 1e-4);
}

TEST_CASE("gan-train: a test over 2 ranks, each making half the samples, scores what 1 process scores",
          "[distributed]") {
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto clf = test::untrained_classifier(tmp.path);
  // 400 samples in forwards of 100: each rank makes 50 of every forward. G in eval mode (its batch
  // statistics would otherwise be each rank's 50 rows, as on DataParallel's devices).
  const std::vector<std::string> flags = {"--total_itr", "1", "--cross_replica", "--test_every", "1", "--G_eval_mode",
                                          "--classifier", clf, "--eval_real", data.string(), "--eval_samples", "400"};
  const auto one = tmp / "one", two = tmp / "two";
  REQUIRE(test::run_gan_train(reference_options_run(one, data, flags), tmp / "one.log") == 0);
  const int rc = launch(2, gan_train_cmd(reference_options_run(two, data, flags)), tmp / "two_logs");
  INFO(rank_logs(tmp / "two_logs"));
  REQUIRE(rc == 0);
  REQUIRE(test::count_lines(one / "logs" / "dist_log.jsonl") == 1);
  REQUIRE(test::count_lines(two / "logs" / "dist_log.jsonl") == 1);
  const auto a = Json::parse(read_file(one / "logs" / "dist_log.jsonl"));
  const auto b = Json::parse(read_file(two / "logs" / "dist_log.jsonl"));
  INFO(a.dump() << "\n" << b.dump());
  CHECK_FALSE(a.contains("samples_by_rank"));
  REQUIRE(b.contains("samples_by_rank"));
  const auto& by_rank = b["samples_by_rank"].as_array();
  REQUIRE(by_rank.size() == 2);
  CHECK(by_rank[0].as_int() == 200);
  CHECK(by_rank[1].as_int() == 200);
  auto rel = [&](const char* k) {
    return std::abs(a[k].as_double() - b[k].as_double()) / std::max(std::abs(a[k].as_double()), 1e-12);
  };
  std::cout << "test over 2 ranks vs 1 process (weights within float rounding after 1 step): FID "
            << a["FID"].as_double() << " vs " << b["FID"].as_double() << " (" << rel("FID") << " relative), IS "
            << rel("IS_mean") << ", accuracy " << a["conditional_accuracy"].as_double() << " vs "
            << b["conditional_accuracy"].as_double() << "\n";
  CHECK(rel("FID") < 1e-4);
  CHECK(rel("IS_mean") < 1e-4);
  CHECK(std::abs(a["conditional_accuracy"].as_double() - b["conditional_accuracy"].as_double()) <= 1.0 / 400);
}

TEST_CASE("gan-train: a killed rank stops the other within 60 s, naming it; the last save loads", "[distributed]") {
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto root = tmp / "run";
  const auto args = reference_options_run(root, data, {"--total_itr", "100000", "--save_every", "3"});
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) + " WORLD_SIZE=2 ";
  auto r0 = test::Child::spawn(args, tmp / "rank0.log", env + "RANK=0 LOCAL_RANK=0 ");
  auto r1 = test::Child::spawn(args, tmp / "rank1.log", env + "RANK=1 LOCAL_RANK=1 ");
  REQUIRE(r0.pid > 0);
  REQUIRE(r1.pid > 0);
  const auto weights = root / "weights" / "dist";
  const auto start = std::chrono::steady_clock::now();
  auto waited = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (!fs::exists(weights / "state_dict.pth") && waited() < 120) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few more steps
  kill(r1.pid, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  int code = 0;
  bool ended = false;
  while (!(ended = r0.ended(code)) &&
         std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count() < 60)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  if (!ended) kill(r0.pid, SIGKILL), r0.wait();
  r1.wait();
  const std::string log0 = read_file(tmp / "rank0.log");
  INFO(log0);
  std::cout << "rank 1 killed: rank 0 exited " << code << " after " << took << " s\n";
  REQUIRE(ended);
  CHECK(code != 0);
  CHECK_THAT(log0, Catch::Contains("rank 1 stopped"));
  auto saved = load_weights_folder(weights, "", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
  CHECK(saved.state->itr % 3 == 0);
  CHECK(saved.state->itr >= 3);
}

TEST_CASE("gan-train: a run resumes with another world size, and 20 iterations of 2 ranks track 1 process",
          "[distributed]") {
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto whole = tmp / "whole", up = tmp / "up", down = tmp / "down", two = tmp / "two";
  auto args = [&](const fs::path& root, const std::string& itr, bool resume) {
    std::vector<std::string> extra = {"--total_itr", itr, "--cross_replica", "--save_every", "1000"};
    if (resume) extra.push_back("--resume");
    return reference_options_run(root, data, extra);
  };
  // Data position and generator states are global: 2 -> 1 and 1 -> 2 processes continue the run.
  REQUIRE(test::run_gan_train(args(whole, "4", false), tmp / "whole.log") == 0);
  REQUIRE(test::run_gan_train(args(up, "2", false), tmp / "up1.log") == 0);
  REQUIRE(launch(2, gan_train_cmd(args(up, "4", true)), tmp / "up2") == 0);
  REQUIRE(launch(2, gan_train_cmd(args(down, "2", false)), tmp / "down2") == 0);
  REQUIRE(test::run_gan_train(args(down, "4", true), tmp / "down1.log") == 0);
  std::string worst;
  for (const auto& root : {up, down}) {
    const double d = max_relative_difference(whole / "weights" / "dist", root / "weights" / "dist", true, worst);
    const double l = max_loss_difference(whole / "logs" / "dist", root / "logs" / "dist");
    std::cout << "resumed with another world size (" << root.filename().string() << "), itr 4: parameters within "
              << d << " (worst " << worst << "), losses within " << l << "\n";
    // The running means carry the conv biases' +-lr noise (see max_relative_difference).
    CHECK(d < 1e-3);
    CHECK(l < 1e-5);
  }
  // 20 iterations: float sums in another order (each rank's half, then their mean) drift apart
  // slowly, as a BLAS kernel change does in the trajectory test.
  const auto one20 = tmp / "one20";
  REQUIRE(test::run_gan_train(args(one20, "20", false), tmp / "one20.log") == 0);
  REQUIRE(launch(2, gan_train_cmd(args(two, "20", false)), tmp / "two20") == 0);
  const double d = max_relative_difference(one20 / "weights" / "dist", two / "weights" / "dist", false, worst);
  const double l = max_loss_difference(one20 / "logs" / "dist", two / "logs" / "dist");
  std::cout << "20 iterations, 2 ranks vs 1 process: parameters within " << d << " relative (worst " << worst
            << "), losses within " << l << "\n";
  CHECK(d < 0.1);  // 0.0043 on an AMD EPYC (attention's gamma apart, see max_relative_difference)
  CHECK(l < 0.25);
}

TEST_CASE("gan-train: a batch that does not split over the ranks is refused before anything is written",
          "[distributed]") {
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto root = tmp / "run";
  const int rc = launch(3, gan_train_cmd(reference_options_run(root, data, {"--total_itr", "1"})), tmp / "logs", 60);
  // Every rank refuses the same way; the first to exit stops the others (launch-local), so the
  // message is in the first one's log, whichever rank that was (rank 0's can be empty).
  const std::string log = rank_logs(tmp / "logs", 3);
  INFO(log);
  CHECK(rc != 0);
  CHECK_THAT(log, Catch::Contains("--batch_size 4") && Catch::Contains("WORLD_SIZE=3"));
  CHECK_FALSE(fs::exists(root / "weights"));
  CHECK_FALSE(fs::exists(root / "logs"));
}
