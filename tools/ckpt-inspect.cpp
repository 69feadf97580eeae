// ckpt-inspect: what is in a BigGAN weights folder or a torch file (ours or BigGAN-PyTorch's,
// zip or legacy format).
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/training/checkpoint_report.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"

int main(int argc, char** argv) {
  return biggan::run_tool("ckpt-inspect", [&] {
    cxxopts::Options opts("ckpt-inspect",
                          "Print the config, training state, tensors (name, shape, dtype), parameter counts per\n"
                          "module and optimiser summaries of a BigGAN weights folder or one .pth file, and the\n"
                          "architecture read off the G / D tensors (and where the stored config disagrees).");
    opts.add_options()
        ("path", "weights folder or .pth file", cxxopts::value<std::string>())
        ("stats", "per-tensor min/max/mean/std and singular values of SN weights");
    opts.parse_positional({"path"});
    opts.positional_help("PATH");
    cxxopts::ParseResult args;
    const auto common = biggan::parse_tool_flags(opts, argc, argv, biggan::kThreadsFlag | biggan::kJsonFlag, args);
    if (!common) return 0;
    if (!args.count("path")) throw cxxopts::exceptions::exception("missing PATH");
    biggan::InspectOptions o;
    o.stats = args.count("stats") > 0;
    auto report = biggan::inspect_checkpoint(args["path"].as<std::string>(), o);
    std::cout << (common->json ? report.dump() + "\n" : biggan::format_checkpoint_report(report));
    return 0;
  });
}
