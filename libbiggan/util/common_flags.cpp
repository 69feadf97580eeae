#include "libbiggan/util/common_flags.h"

#include <iostream>

#include "libbiggan/util/cli.h"
#include "libbiggan/util/provenance.h"
#include "libbiggan/util/version.h"

namespace biggan {

namespace {

void add_common_flags(cxxopts::Options& options, unsigned which, const std::string& json_help) {
  auto add = options.add_options("common");
  if (which & kThreadsFlag) add("t,threads", "LibTorch threads (0 = all cores)", cxxopts::value<int>()->default_value("0"));
  if (which & kProgressFlag) add("progress", "progress on stderr even when it is not a terminal");
  if (which & kDeviceFlag)
    add("device", "cpu, cuda or cuda:N (default: cuda when this build and machine have it)",
        cxxopts::value<std::string>()->default_value(""));
  if (which & kJsonFlag) add("json", json_help);
  add("version", "print the version, git commit and LibTorch build, then exit");
  add("h,help", "show this help");
}

}  // namespace

std::optional<CommonFlags> parse_tool_flags(cxxopts::Options& options, int argc, const char* const* argv,
                                            unsigned which, cxxopts::ParseResult& args,
                                            const std::string& json_help) {
  add_common_flags(options, which, json_help);
  args = options.parse(argc, argv);
  record_invocation(options.program(), argc, argv);
  if (args.count("help")) {
    std::cout << options.help() << "\n";
    return std::nullopt;
  }
  if (args.count("version")) {
    std::cout << version_line(options.program()) << "\n";
    return std::nullopt;
  }
  CommonFlags c;
  c.threads = setup_threads((which & kThreadsFlag) ? args["threads"].as<int>() : 0);
  c.progress = ((which & kProgressFlag) && args.count("progress")) || stderr_is_terminal();
  if (which & kDeviceFlag) c.device = args["device"].as<std::string>();
  c.json = (which & kJsonFlag) && args.count("json");
  return c;
}

}  // namespace biggan
