// Stopping and resuming runs honestly: a stop asked of one run does not stop the next in the same
// process; SIGINT / SIGTERM save and exit 130 / 143; a resumed run's logs hold every iteration
// once; Makefile.pipeline does not call an interrupted run trained and samples the run it trained.
#include <catch2/catch.hpp>

#include <iostream>

#include "libbiggan/training/trainer.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/fixtures.h"
#include "tests/training/tiny_run.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kAll = {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"};

std::vector<int64_t> itrs_of_jsonl(const fs::path& file) {
  std::vector<int64_t> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line)["itr"].as_int());
  return out;
}
std::vector<int64_t> itrs_of_text_log(const fs::path& file) {
  std::vector<int64_t> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(std::stoll(line.substr(0, line.find(':'))));
  return out;
}
std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

struct FixedEvaluator : Evaluator {
  Json evaluate(GeneratorImpl&, int64_t itr, Distributed*) override {
    return Json::object().set("IS_mean", 1.0 + itr).set("IS_std", 0.5).set("FID", 100.0 - itr);
  }
  std::string name() const override { return "fixed"; }
};

}  // namespace

TEST_CASE("a stop asked of one run does not stop the next run in the same process") {
  torch::set_num_threads(1);
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  {
    auto cmd = parse_train_command(test::tiny_args(tmp / "a", data, {"--total_itr", "6"}));
    cmd.options.on_step = [](int64_t itr, const data::Batch&, const StepLosses&) {
      if (itr == 2) Trainer::request_stop();
    };
    Trainer trainer(cmd.config, cmd.options);
    CHECK(trainer.run().itr == 2);
    CHECK(trainer.stopped());
    CHECK(trainer.stop_signal() == 0);
    CHECK(load_weights_folder(trainer.paths().weights, "", kAll).state->itr == 2);
  }
  {  // Asked between runs too: a run starts afresh.
    Trainer::request_stop();
    auto cmd = parse_train_command(test::tiny_args(tmp / "b", data, {"--total_itr", "3"}));
    Trainer trainer(cmd.config, cmd.options);
    CHECK(trainer.run().itr == 3);
    CHECK(!trainer.stopped());
  }
}

TEST_CASE("SIGTERM and SIGINT save and exit 143 and 130; the resumed run logs each iteration once") {
  REQUIRE(fs::exists(test::tool_path("gan-train")));
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto weights = test::tiny_weights(tmp.path, data);
  const auto train_log = tmp.path / "logs" / weights.filename() / "train_log.jsonl";
  int64_t itr = 0;
  for (auto [sig, want] : {std::pair{SIGTERM, 143}, std::pair{SIGINT, 130}}) {
    INFO("signal " << sig);
    auto args = test::tiny_args(tmp.path, data, {"--total_itr", "100000", "--save_every", "0"});
    if (itr > 0) args.push_back("--resume");
    auto child = test::Child::spawn(args, tmp / "run.log");
    // Once it has trained a few iterations past where it began.
    for (int i = 0; i < 60000 && test::count_lines(train_log) < static_cast<size_t>(itr + 3); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::kill(child.pid, sig);
    CHECK(child.wait() == want);
    const auto state = load_weights_folder(weights, "", kAll).state;
    CHECK(state->itr >= itr + 3);
    CHECK(itrs_of_jsonl(train_log) == one_to(state->itr));  // saved at the last logged iteration
    itr = state->itr;
    CHECK(read_file(tmp / "run.log").find("stopped at itr " + std::to_string(itr)) != std::string::npos);
  }
  std::cout << "signals: stopped and saved at itr " << itr << "\n";
}

TEST_CASE("a resume drops the logged iterations after its save, in every log") {
  torch::set_num_threads(1);
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> flags = {"--save_every", "2", "--num_save_copies", "1", "--test_every", "1",
                                      "--sv_log_interval", "1"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    auto cmd = parse_train_command(test::tiny_args(tmp.path, data, flags));
    cmd.options.evaluator = std::make_shared<FixedEvaluator>();
    Trainer trainer(cmd.config, cmd.options);
    trainer.run();
    return trainer.paths();
  };
  run({"--total_itr", "5"});  // saves at 2 and 4 with copy0, and at 5
  // Resumed from the copy at itr 4: itr 5 is trained and logged again.
  const auto p = run({"--total_itr", "6", "--resume", "--load_weights", "copy0"});
  CHECK(itrs_of_jsonl(p.train_log) == one_to(6));
  CHECK(itrs_of_jsonl(p.logs / "sv_log.jsonl") == one_to(6));
  CHECK(itrs_of_jsonl(p.test_log) == one_to(6));
  for (const char* metric : {"G_loss", "D_loss_real", "D_loss_fake", "G_linear_sv0"}) {
    INFO(metric);
    CHECK(itrs_of_text_log(p.logs / (std::string(metric) + ".log")) == one_to(6));
  }
}

TEST_CASE("a torn last log line from a kill is dropped on resume") {
  test::TempDir tmp;
  ExperimentPaths p;
  p.logs = tmp / "logs";
  p.train_log = p.logs / "train_log.jsonl";
  p.test_log = tmp / "x_log.jsonl";
  fs::create_directories(p.logs);
  write_file_atomically(p.train_log, "{\"itr\": 1}\n{\"itr\": 2}\n{\"itr\": 3, \"G_lo");
  write_file_atomically(p.logs / "G_loss.log", "1: 1.0e+00\n2: 2.0e+00\n3: 3.0e+00\n12: 4.");
  write_file_atomically(p.test_log, "{\"itr\": 2, \"FID\": 3}\n");
  drop_log_records_after(p, 2);
  CHECK(read_file(p.train_log) == "{\"itr\": 1}\n{\"itr\": 2}\n");
  CHECK(read_file(p.logs / "G_loss.log") == "1: 1.0e+00\n2: 2.0e+00\n");
  CHECK(read_file(p.test_log) == "{\"itr\": 2, \"FID\": 3}\n");
}

namespace {
// Stand-ins for the tools, recording their arguments: the Makefile's logic without the training.
void write_fake_tools(const fs::path& bin) {
  fs::create_directories(bin);
  write_file_atomically(bin / "gan-train",
                        "#!/bin/sh\n"
                        "echo \"gan-train $*\" >> \"$FAKE_CALLS\"\n"
                        "name=; root=; prev=\n"
                        "for a in \"$@\"; do case \"$prev\" in --experiment_name) name=$a;; --base_root) root=$a;; esac; "
                        "prev=$a; done\n"
                        "mkdir -p \"$root/weights/$name\" && touch \"$root/weights/$name/state_dict.pth\"\n"
                        "exit ${FAKE_EXIT:-0}\n");
  write_file_atomically(bin / "gan-sample",
                        "#!/bin/sh\n"
                        "echo \"gan-sample $*\" >> \"$FAKE_CALLS\"\n"
                        "prev=; for a in \"$@\"; do [ \"$prev\" = --output ] && touch \"$a\"; prev=$a; done\n"
                        "exit 0\n");
  for (const char* tool : {"gan-train", "gan-sample"})
    fs::permissions(bin / tool, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
}
}  // namespace

TEST_CASE("Makefile.pipeline: an interrupted run is not marked trained, is resumed, and is the one sampled") {
  if (std::system("command -v make > /dev/null 2>&1") != 0) {
    BIGGAN_SKIP("no make: the pipeline check");
    return;
  }
  test::TempDir tmp;
  const auto out = tmp / "out", bin = tmp / "bin", calls = tmp / "calls.txt";
  write_fake_tools(bin);
  // The data and the yardstick exist (older than what they feed), so only training and sampling run.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char* f : {"data/FMNIST32.hdf5", "data/FMNIST32_test.hdf5", "classifier.pth"}) {
    fs::create_directories((out / f).parent_path());
    write_file_atomically(out / f, "");
    fs::last_write_time(out / f, old + std::chrono::seconds(f[0] == 'c' ? 10 : 0));
  }
  // A folder that sorts before the run's: `ls | head -1` would sample it.
  fs::create_directories(out / "fashion_default" / "weights" / "AAA_other_experiment");
  auto make = [&](const std::string& target, int fake_exit) {
    const std::string cmd = "cd '" + std::string(BIGGAN_SOURCE_DIR) + "' && FAKE_CALLS='" + calls.string() +
                            "' FAKE_EXIT=" + std::to_string(fake_exit) + " make -s -f Makefile.pipeline OUT='" +
                            out.string() + "' BUILD='" + bin.string() + "' " + target + " > '" +
                            (tmp / "make.log").string() + "' 2>&1";
    return std::system(cmd.c_str());
  };
  const auto done = out / "fashion_default" / ".trained";
  CHECK(make("train", 143) != 0);  // SIGTERM'd gan-train
  CHECK(!fs::exists(done));
  CHECK(make("train", 0) == 0);
  CHECK(fs::exists(done));
  CHECK(make("sample", 0) == 0);
  std::vector<std::string> lines;
  {
    std::ifstream in(calls);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  INFO(read_file(calls));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("--experiment_name fashion_default") != std::string::npos);
  CHECK(lines[0].find("--resume") == std::string::npos);
  CHECK(lines[1].find("--resume") != std::string::npos);  // the interrupted run goes on
  CHECK(lines[2].rfind("gan-sample --weights " + (out / "fashion_default" / "weights" / "fashion_default").string(), 0) == 0);
}
