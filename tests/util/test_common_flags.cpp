#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <iostream>
#include <sstream>
#include <vector>

#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/version.h"

using namespace biggan;

namespace {

// Runs parse_tool_flags over `argv` with stdout captured.
struct Parsed {
  std::optional<CommonFlags> common;
  cxxopts::ParseResult args;
  std::string out;
};

Parsed parse(std::vector<const char*> argv, unsigned which) {
  cxxopts::Options opts("tool", "a tool");
  opts.add_options()("extra", "a tool flag", cxxopts::value<int>()->default_value("1"));
  argv.insert(argv.begin(), "tool");
  Parsed p;
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  try {
    p.common = parse_tool_flags(opts, static_cast<int>(argv.size()), argv.data(), which, p.args);
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  p.out = captured.str();
  return p;
}

}  // namespace

TEST_CASE("common flags: only the chosen ones exist, spelled and explained alike") {
  const int before = torch::get_num_threads();
  auto p = parse({"--threads", "1", "--json", "--extra", "3"}, kThreadsFlag | kJsonFlag);
  REQUIRE(p.common);
  CHECK(p.common->threads == 1);
  CHECK(torch::get_num_threads() == 1);
  CHECK(p.common->json);
  CHECK(p.args["extra"].as<int>() == 3);
  CHECK(p.common->device.empty());
  auto short_threads = parse({"-t", "2"}, kThreadsFlag);
  CHECK(short_threads.common->threads == 2);
  // A flag the tool did not choose is refused by the parser.
  CHECK_THROWS_AS(parse({"--device", "cpu"}, kThreadsFlag), cxxopts::exceptions::exception);
  CHECK_THROWS_AS(parse({"--threads", "-1"}, kThreadsFlag), cxxopts::exceptions::exception);
  auto dev = parse({"--device", "cpu", "--progress"}, kDeviceFlag | kProgressFlag);
  CHECK(dev.common->device == "cpu");
  CHECK(dev.common->progress);
  torch::set_num_threads(before);
}

TEST_CASE("common flags: --help and --version print and end the tool") {
  auto help = parse({"--help"}, kThreadsFlag | kProgressFlag);
  CHECK_FALSE(help.common);
  CHECK(help.out.find("--threads") != std::string::npos);
  CHECK(help.out.find("--progress") != std::string::npos);
  CHECK(help.out.find("--version") != std::string::npos);
  CHECK(help.out.find("--device") == std::string::npos);
  auto version = parse({"--version"}, 0);
  CHECK_FALSE(version.common);
  CHECK(version.out.find("tool (biggan-cpp) " + toolkit_version()) == 0);
  CHECK(version.out.find("git " + git_commit()) != std::string::npos);
  CHECK(version.out.find("LibTorch 1.") != std::string::npos);
  CHECK(toolkit_version().find('.') != std::string::npos);
  CHECK_FALSE(git_commit().empty());
}
