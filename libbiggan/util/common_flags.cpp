#include "libbiggan/util/common_flags.h"

#include <iostream>

#include "libbiggan/util/cli.h"
#include "libbiggan/util/provenance.h"
#include "libbiggan/util/version.h"

namespace biggan {

namespace {

void add_common_flags(cxxopts::Options& options, unsigned which, const std::string& json_help) {
  namespace help = common_flag_help;
  auto add = options.add_options("common");
  if (which & kThreadsFlag) add("t,threads", help::kThreads, cxxopts::value<int>()->default_value("0"));
  if (which & kProgressFlag) add("progress", help::kProgress);
  if (which & kDeviceFlag) add("device", help::kDevice, cxxopts::value<std::string>()->default_value(""));
  if (which & kJsonFlag) add("json", json_help);
  add("version", help::kVersion);
  add("h,help", help::kHelp);
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
