// gan-sample: images from a BigGAN generator (a BigGAN-PyTorch or our weights folder, or one G .pth
// file): raw HDF5 output, the reference's samples .npz, a msgpack stream for `fid`, sample sheets,
// per-class and interpolation sheets, and IS/FID truncation curves.
#include <cmath>
#include <cxxopts.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "libbiggan/training/config.h"
#include "libbiggan/training/precision.h"
#include "libbiggan/training/sample_plan.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/device.h"
#include "libbiggan/util/flag_checks.h"

using namespace biggan;
namespace {

using cxxopts::exceptions::exception;

// np.arange(start, end + step, step) as the reference's --sample_trunc_curves.
std::vector<double> curve_values(const std::string& spec) {
  std::vector<double> v;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, '_')) {
    try {
      size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw exception("--truncation-curve takes START_STEP_END (e.g. 0.2_0.1_1.0), got '" + spec + "'");
    }
  }
  if (v.size() != 3 || !(v[1] > 0))
    throw exception("--truncation-curve takes START_STEP_END with a positive step, got '" + spec + "'");
  const double start = v[0], step = v[1], stop = v[2] + v[1];
  const auto n = static_cast<int64_t>(std::ceil((stop - start) / step));
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(start + i * step);
  return out;
}

// Checks the flags that need no generator (usage errors) and fills the plan; the device is left to
// the caller (after the thread setup).
SamplePlan plan_from_flags(const cxxopts::ParseResult& args) {
  if (!args.count("weights")) throw exception("missing --weights DIR_OR_FILE");
  const bool want_output = args.count("output"), want_npz = args.count("sample-npz"),
             want_stream = args.count("stream"), want_sheet = args.count("sheet"),
             want_class = args.count("class-sheets"), want_interp = args.count("interp"),
             want_curve = args.count("truncation-curve");
  if (!(want_output || want_npz || want_stream || want_sheet || want_class || want_interp || want_curve))
    throw exception("nothing to do: give --output, --sample-npz, --stream, --sheet, --class-sheets, --interp "
                    "or --truncation-curve");
  if (want_stream && want_curve) throw exception("--stream and --truncation-curve both write to stdout");
  const bool batch_stats = args.count("batch-stats");
  if (batch_stats && args.count("accumulate-stats"))
    throw exception("--accumulate-stats prepares statistics for eval mode; it excludes --batch-stats");
  // --truncation with --latents: checked with G (it picks the BN statistics of a G that has them per level).
  if (args.count("latents") && (args.count("class") || args.count("z-var")))
    throw exception("--latents gives z and y; --class, --truncation and --z-var apply to drawn latents only");
  const auto stream_dtype = args["stream-dtype"].as<std::string>();
  if (stream_dtype != "float32" && stream_dtype != "uint8") throw exception("--stream-dtype is float32 or uint8");
  const auto curve_var = args["curve-variable"].as<std::string>();
  if (curve_var != "truncation" && curve_var != "z_var") throw exception("--curve-variable is truncation or z_var");
  flag_at_least<int64_t>(args, "samples-per-class", 1);
  flag_at_least<int64_t>(args, "num-per-sheet", 1);
  flag_at_least<int64_t>(args, "num-midpoints", 0);
  SamplePlan plan;
  if (want_curve) plan.curve = curve_values(args["truncation-curve"].as<std::string>());

  plan.seed = static_cast<uint64_t>(args["seed"].as<int64_t>());
  plan.source.weights = args["weights"].as<std::string>();
  plan.source.which = args["which"].as<std::string>();
  plan.source.suffix = args["suffix"].as<std::string>();
  if (args.count("config-json")) plan.source.config_json = args["config-json"].as<std::string>();
  plan.source.flags = split_flags(args["flags"].as<std::string>());
  plan.batch_stats = batch_stats;
  plan.accumulate_stats = args.count("accumulate-stats") > 0;
  if (args.count("num-standing-accumulations"))
    plan.num_standing_accumulations = args["num-standing-accumulations"].as<int64_t>();
  if (args.count("batch-size")) plan.batch_size = args["batch-size"].as<int64_t>();

  if (args.count("latents")) plan.latents_file = args["latents"].as<std::string>();
  if (args.count("num")) plan.num = args["num"].as<int64_t>();
  if (args.count("z-var")) plan.z_var = args["z-var"].as<double>();
  plan.truncation = args["truncation"].as<double>();
  plan.truncation_given = args.count("truncation") > 0;
  plan.truncation_lookup = args["truncation-lookup"].as<std::string>();
  if (plan.truncation_lookup != "linear" && plan.truncation_lookup != "huggingface")
    throw exception("--truncation-lookup is linear or huggingface");
  if (args.count("class")) plan.fixed_class = args["class"].as<int64_t>();

  if (want_output) plan.output_h5 = args["output"].as<std::string>();
  if (want_npz) plan.sample_npz = args["sample-npz"].as<std::string>();
  if (want_sheet) plan.sheet_png = args["sheet"].as<std::string>();
  if (args.count("sheet-size")) plan.sheet_size = args["sheet-size"].as<int64_t>();
  plan.stream = want_stream;
  plan.stream_dtype = stream_dtype;
  if (want_class) plan.class_sheets_dir = args["class-sheets"].as<std::string>();
  if (args.count("classes-per-sheet")) plan.classes_per_sheet = args["classes-per-sheet"].as<int64_t>();
  plan.samples_per_class = args["samples-per-class"].as<int64_t>();
  if (want_interp) plan.interp_dir = args["interp"].as<std::string>();
  plan.num_per_sheet = args["num-per-sheet"].as<int64_t>();
  plan.num_midpoints = args["num-midpoints"].as<int64_t>();

  if (!want_curve) return plan;
  plan.curve_variable = curve_var;
  if (args.count("moments")) plan.moments_npz = args["moments"].as<std::string>();
  plan.scorer.network = args["network"].as<std::string>();
  if (!args["features"].as<std::string>().empty()) {
    if (!plan.scorer.network.empty()) throw exception("--features and --network exclude each other");
    plan.scorer.network = args["features"].as<std::string>();
  }
  plan.scorer.weights = args["inception-weights"].as<std::string>();
  plan.scorer.random_weights = args.count("random-weights") > 0;

  return plan;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("gan-sample", [&] {
    cxxopts::Options opts(
        "gan-sample",
        "Sample a BigGAN generator, as BigGAN-PyTorch's sample.py (same draws from torch's generator for the\n"
        "same seed), writing any combination of the outputs below.\n"
        "  gan-sample --weights run/weights --num 50000 --stream | fid - data_moments.npz\n"
        "  gan-sample --weights G.pth --config-json config.json --latents z.h5 --output images.h5\n"
        "Latents: --latents FILE.h5 (z [N, dim_z] float32, y [N] int64), or drawn: z ~ N(0, z_var) (z_var\n"
        "used as the std, like the reference), or with --truncation T a truncated normal on [-T, T]\n"
        "(scipy.stats.truncnorm(-T/s, T/s, scale=s).ppf(u), s = z_var, u = torch.rand in float64).");
    opts.add_options("model")
        ("weights", "weights folder, or one G .pth file", cxxopts::value<std::string>())
        ("which", "G or G_ema (default: G_ema when the folder has it, as the reference's use_ema)",
         cxxopts::value<std::string>()->default_value(""))
        ("suffix", "weights suffix (copy0, best1, ...)", cxxopts::value<std::string>()->default_value(""))
        ("config-json", "config JSON (over the folder's state_dict.pth config)", cxxopts::value<std::string>())
        ("flags", "reference-style config flags, applied last (e.g. \"--G_ch 32 --dataset I32_hdf5\")",
         cxxopts::value<std::string>()->default_value(""))
        ("batch-stats", "train-mode batch statistics instead of eval mode (the reference without G_eval_mode)")
        ("accumulate-stats", "standing statistics first (the reference's --accumulate_stats)")
        ("num-standing-accumulations", "forwards for standing statistics (default: the config's)",
         cxxopts::value<int64_t>())
        ("batch-size", "images per forward (default: the config's max(G_batch_size, batch_size))",
         cxxopts::value<int64_t>())
        ("amp", "the main samples' forward under autocast: off, bf16 (CPU or CUDA), fp16 (CUDA), or auto (bf16 "
                "where the CPU or GPU computes it natively, else off)",
         cxxopts::value<std::string>()->default_value("off"));
    opts.add_options("latents")
        ("latents", "HDF5 latents: z [N, dim_z] float32, y [N] int64", cxxopts::value<std::string>())
        ("num", "images to draw (default: one batch)", cxxopts::value<int64_t>())
        ("truncation", "truncated normal z in [-T, T] (0: none); a G with BN statistics per truncation level "
                       "(TF-Hub BigGAN-deep) also uses those of T, with --latents too",
         cxxopts::value<double>()->default_value("0"))
        ("truncation-lookup", "between two levels of BN statistics: linear, or huggingface "
                              "(pytorch-pretrained-BigGAN's lookup, to reproduce its images)",
         cxxopts::value<std::string>()->default_value("linear"))
        ("z-var", "the reference's z_var (the std of z; default: the config's)", cxxopts::value<double>())
        ("class", "sample only this class", cxxopts::value<int64_t>())
        ("seed", "torch seed (the reference's --seed)", cxxopts::value<int64_t>()->default_value("0"));
    opts.add_options("outputs")
        ("output", "HDF5: images N×3×H×W float32, z, y", cxxopts::value<std::string>())
        ("sample-npz", "the reference's samples.npz: x uint8 N×3×H×W, y int64", cxxopts::value<std::string>())
        ("stream", "msgpack sample stream on stdout (for fid / inception-moments)")
        ("stream-dtype", "float32 (exact) or uint8 (as --sample_npz)", cxxopts::value<std::string>()->default_value("float32"))
        ("sheet", "PNG sheet of the first --sheet-size samples", cxxopts::value<std::string>())
        ("sheet-size", "images on --sheet (default: one batch)", cxxopts::value<int64_t>())
        ("class-sheets", "folder for per-class sheets (the reference's sample_sheet)", cxxopts::value<std::string>())
        ("classes-per-sheet", "classes per class sheet (default: the reference's table)", cxxopts::value<int64_t>())
        ("samples-per-class", "samples per class on class sheets", cxxopts::value<int64_t>()->default_value("10"))
        ("interp", "folder for interpolation sheets (z, class, both)", cxxopts::value<std::string>())
        ("num-per-sheet", "rows per interpolation sheet", cxxopts::value<int64_t>()->default_value("16"))
        ("num-midpoints", "midpoints per interpolation row", cxxopts::value<int64_t>()->default_value("8"))
        ("truncation-curve", "IS/FID for values START_STEP_END (np.arange(start, end + step, step))",
         cxxopts::value<std::string>())
        ("curve-variable", "what the curve varies: truncation, or z_var (the reference's sample_trunc_curves)",
         cxxopts::value<std::string>()->default_value("truncation"))
        ("moments", "reference moments .npz for FID in the curve", cxxopts::value<std::string>())
        ("network", "curve scorer: torchvision or fid (default: what the weights file holds)",
         cxxopts::value<std::string>()->default_value(""))
        ("features", "curve scorer: torchscript:FILE (runs that file's code: trusted files only)", cxxopts::value<std::string>()->default_value(""))
        ("inception-weights", "Inception weights for the curve (default $BIGGAN_INCEPTION_WEIGHTS)",
         cxxopts::value<std::string>()->default_value(""))
        ("random-weights", "curve with a random-weight network (a smoke test: meaningless numbers)");
    cxxopts::ParseResult args;
    const auto common = parse_tool_flags(opts, argc, argv, kThreadsFlag | kProgressFlag | kDeviceFlag | kJsonFlag,
                                         args, "truncation-curve results as JSON lines");
    if (!common) return 0;
    SamplePlan plan = plan_from_flags(args);
    plan.progress = common->progress;
    plan.json = common->json;
    plan.device = pick_device(common->device);
    const Amp amp = resolve_amp(args["amp"].as<std::string>(), plan.device, "gan-sample");
    check_precision(Config{}, amp, plan.device);  // a device without those kernels: refused before any output
    plan.autocast = amp_dtype(amp);
    try {
      run_sample_plan(plan, std::cout, std::cerr);
    } catch (const FlagError& e) {
      throw exception(e.what());  // a flag that does not fit the generator: a usage error
    }
    return 0;
  });
}
