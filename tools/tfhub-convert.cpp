// tfhub-convert: DeepMind's TF-Hub BigGAN modules (biggan-128/256/512, v2; biggan-deep-128/256/512)
// to a weights folder, with no TensorFlow: the module directory's tensor bundle, BigGAN-PyTorch's HDF5
// dump or Hugging Face's converted BigGAN-deep directory as input.
#include <cxxopts.hpp>
#include <iostream>
#include <string>

#include "libbiggan/training/tfhub_convert.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"

int main(int argc, char** argv) {
  return biggan::run_tool("tfhub-convert", [&] {
    cxxopts::Options opts(
        "tfhub-convert",
        "Convert a TF-Hub BigGAN module (biggan-128/256/512, version 2) into a weights folder for gan-sample,\n"
        "ckpt-inspect and gan-train --resume, as BigGAN-PyTorch's TFHub/converter.py maps it (any width);\n"
        "or a BigGAN-deep module (biggan-deep-128/256/512) into a BigGANdeep weights folder.\n"
        "  tfhub-convert biggan-128_2/ weights/biggan-128     # the unpacked ?tf-hub-format=compressed tarball\n"
        "  tfhub-convert pretrained_weights/biggan-128.h5 weights/biggan-128   # converter.py's HDF5 dump\n"
        "  tfhub-convert biggan-deep-128_1/ weights/deep --bn-stats tables.h5  # BN statistics per truncation\n"
        "  tfhub-convert ~/.pytorch_pretrained_biggan/<hash dir>/ weights/deep   # Hugging Face's conversion\n"
        "OUT_DIR must be new or empty; it receives G.pth and G_ema.pth (the EMA weights) and state_dict.pth\n"
        "(the config). Every block and tensor CRC32C is checked, and nothing is written on any error.\n"
        "BN statistics are the module's accumulated ones (TF-Hub's truncation 1), or for BigGAN-deep the\n"
        "tables per truncation level that gan-sample --truncation picks from; see docs/tfhub.md.");
    opts.add_options()
        ("module", "module directory (with variables/variables.index) or converter.py's .h5 dump",
         cxxopts::value<std::string>())
        ("out", "new or empty weights folder to write", cxxopts::value<std::string>())
        ("no-ema", "convert the raw weights instead of their EMA copies (writes G.pth only)")
        ("bn-stats", "BigGAN-deep: BN statistics per truncation level (HDF5 '<scope>/means', '<scope>/vars', "
                     "or a torch file with Hugging Face's list of tables, e.g. its --batch_norm_stats_path .bin)", cxxopts::value<std::string>());
    opts.parse_positional({"module", "out"});
    opts.positional_help("MODULE_DIR_OR_H5 OUT_DIR");
    cxxopts::ParseResult args;
    const auto common = biggan::parse_tool_flags(opts, argc, argv, biggan::kThreadsFlag | biggan::kProgressFlag, args);
    if (!common) return 0;
    if (!args.count("module") || !args.count("out"))
      throw cxxopts::exceptions::exception("give MODULE_DIR_OR_H5 and OUT_DIR");
    biggan::TfHubConvertOptions o;
    o.ema = !args.count("no-ema");
    o.progress = common->progress;
    if (args.count("bn-stats")) o.bn_stats = args["bn-stats"].as<std::string>();
    const auto out = args["out"].as<std::string>();
    const auto c = biggan::tfhub_convert(args["module"].as<std::string>(), out, o);
    std::cerr << "tfhub-convert: " << biggan::describe_tfhub_architecture(c.arch) << " (" << (o.ema ? "EMA" : "raw")
              << " weights) -> " << out << "\n";
    if (!c.bn_statistics.empty()) std::cerr << "tfhub-convert: " << c.bn_statistics << "\n";
    return 0;
  });
}
