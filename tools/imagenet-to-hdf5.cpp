// imagenet-to-hdf5: an ImageFolder tree (or an IDX data set such as Fashion-MNIST) -> the training
// file that gan-train reads, in the layout of the reference's make_hdf5.py.
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/data/training_file_writer.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/error.h"

namespace fs = std::filesystem;
using namespace biggan;

int main(int argc, char** argv) {
  return run_tool("imagenet-to-hdf5", [&] {
    cxxopts::Options options("imagenet-to-hdf5",
                             "Converts an image folder (ROOT/<class>/<images>, classes in sorted order, as "
                             "torchvision's ImageFolder) or an IDX data set into a training file: HDF5 with "
                             "'imgs' uint8 N x 3 x R x R and 'labels' int64 N, as BigGAN-PyTorch's make_hdf5.py "
                             "writes it. Each image is center-cropped to its short side and resized to R x R.\n"
                             "Example: imagenet-to-hdf5 -r 128 data/ImageNet data/ILSVRC128.hdf5\n"
                             "         imagenet-to-hdf5 --format idx /usr/share/datasets/fashion-mnist fmnist32.hdf5");
    options.positional_help("INPUT OUTPUT");
    options.add_options()
        ("input", "image folder root, or the IDX folder with --format idx", cxxopts::value<std::string>())
        ("output", "output .hdf5 file; an existing folder gets ILSVRC<R>.hdf5 in it", cxxopts::value<std::string>())
        ("f,format", "input format: folder or idx", cxxopts::value<std::string>()->default_value("folder"))
        ("r,resolution", "output size R (default 128, 32 for idx)", cxxopts::value<int>())
        ("split", "idx split: train or test", cxxopts::value<std::string>()->default_value("train"))
        ("resize", "resize filter: pil (torchvision's PIL bilinear, bit-exact), area or linear (OpenCV)",
         cxxopts::value<std::string>()->default_value("pil"))
        ("fast-decode", "decode large JPEGs at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling, as PIL's draft) "
         "while the short side stays >= R: faster, but no longer bit-exact with the reference")
        ("chunk-size", "HDF5 chunk rows (make_hdf5.py --chunk_size)", cxxopts::value<int64_t>()->default_value("500"))
        ("compression", "gzip level 1-9 for the datasets (0: none, as make_hdf5.py's default)",
         cxxopts::value<int>()->default_value("0"))
        ("strict", "fail on the first unreadable image instead of skipping it")
        ("q,quiet", "no progress and no summary");
    options.parse_positional({"input", "output"});
    cxxopts::ParseResult args;
    // --threads here counts the decode/resize workers (plain threads; LibTorch's pool stays at 1).
    const auto common = parse_tool_flags(options, argc, argv, kThreadsFlag | kProgressFlag, args);
    if (!common) return kExitOk;
    if (!args.count("input") || !args.count("output"))
      throw cxxopts::exceptions::exception("INPUT and OUTPUT are required");
    const std::string format = args["format"].as<std::string>();
    if (format != "folder" && format != "idx")
      throw cxxopts::exceptions::exception("--format must be folder or idx");
    const bool quiet = args.count("quiet") > 0;

    data::WriterOptions wo;
    wo.resolution = args.count("resolution") ? args["resolution"].as<int>() : (format == "idx" ? 32 : 128);
    wo.resize = data::resize_method_from_name(args["resize"].as<std::string>());
    wo.chunk_rows = args["chunk-size"].as<int64_t>();
    wo.gzip_level = args["compression"].as<int>();
    if (wo.gzip_level < 0 || wo.gzip_level > 9) throw cxxopts::exceptions::exception("--compression must be 0-9");
    wo.strict = args.count("strict") > 0;
    wo.fast_decode = args.count("fast-decode") > 0;
    wo.threads = common->threads;
    torch::set_num_threads(1);  // our workers are plain threads; keep LibTorch's pool out of their way
    wo.progress = !quiet && common->progress;

    fs::path output = args["output"].as<std::string>();
    if (fs::is_directory(output)) output /= "ILSVRC" + std::to_string(wo.resolution) + ".hdf5";

    std::unique_ptr<data::ImageSource> source;
    if (format == "idx") source = std::make_unique<data::IdxSource>(args["input"].as<std::string>(), args["split"].as<std::string>());
    else source = std::make_unique<data::ImageFolderSource>(args["input"].as<std::string>());

    auto result = data::write_training_file(*source, output, wo);
    if (!result.skipped.empty()) {
      std::cerr << "imagenet-to-hdf5: skipped " << result.skipped.size() << " unreadable image(s):\n";
      for (auto& s : result.skipped) std::cerr << "  " << s << "\n";
    }
    if (!quiet)
      std::cerr << "imagenet-to-hdf5: wrote " << result.written << " images of " << wo.resolution << "x"
                << wo.resolution << " in " << source->class_names().size() << " classes to " << output.string()
                << " (" << static_cast<int64_t>(result.written / std::max(result.seconds, 1e-9)) << " images/s)\n";
    return kExitOk;
  });
}
