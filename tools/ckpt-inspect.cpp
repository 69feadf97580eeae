// ckpt-inspect: what is in a BigGAN weights folder or a torch file (ours or BigGAN-PyTorch's,
// zip or legacy format).
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/serialization/inspect.h"
#include "libbiggan/util/cli.h"

int main(int argc, char** argv) {
  return biggan::run_tool("ckpt-inspect", [&] {
    cxxopts::Options opts("ckpt-inspect",
                          "Print the config, training state, tensors (name, shape, dtype), parameter counts per\n"
                          "module and optimiser summaries of a BigGAN weights folder or one .pth file.");
    opts.add_options()
        ("path", "weights folder or .pth file", cxxopts::value<std::string>())
        ("json", "machine-readable JSON on stdout")
        ("stats", "per-tensor min/max/mean/std and singular values of SN weights")
        ("threads", "LibTorch threads (0 = all cores)", cxxopts::value<int>()->default_value("0"))
        ("h,help", "show this help");
    opts.parse_positional({"path"});
    opts.positional_help("PATH");
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    if (!args.count("path")) throw cxxopts::exceptions::exception("missing PATH");
    biggan::setup_threads(args["threads"].as<int>());
    biggan::InspectOptions o;
    o.stats = args.count("stats") > 0;
    auto report = biggan::inspect_path(args["path"].as<std::string>(), o);
    std::cout << (args.count("json") ? report.dump() + "\n" : biggan::format_inspection(report));
    return 0;
  });
}
