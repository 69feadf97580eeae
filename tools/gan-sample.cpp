// gan-sample: images from a BigGAN generator (a BigGAN-PyTorch or our weights folder, or one G .pth
// file): raw HDF5 output, the reference's samples .npz, a msgpack stream for `fid`, sample sheets,
// per-class and interpolation sheets, and IS/FID truncation curves.
#include <cmath>
#include <cxxopts.hpp>
#include <iostream>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/training/load_generator.h"
#include "libbiggan/training/sample_scores.h"
#include "libbiggan/training/sampling.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/device.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/progress.h"
#include "libbiggan/util/flag_checks.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

using cxxopts::exceptions::exception;

// Latents from --latents: z [N, dim_z] float32 and y [N] int64, checked against G.
void read_latents(const std::string& path, const GeneratorImpl& G, torch::Tensor& z, torch::Tensor& y) {
  auto f = h5::File::open_read(path);
  for (const char* name : {"z", "y"})
    if (!f.exists(name)) throw input_error(path, std::string("no dataset '") + name + "' (latents need z and y)");
  z = f.read("z");
  y = f.read("y");
  if (z.scalar_type() != torch::kFloat32 || z.dim() != 2)
    throw input_error(path, "z must be float32 [N, dim_z], got " + std::string(c10::toString(z.scalar_type())) +
                                " of shape " + c10::str(z.sizes()));
  if (y.scalar_type() != torch::kInt64 || y.dim() != 1)
    throw input_error(path, "y must be int64 [N], got " + std::string(c10::toString(y.scalar_type())) +
                                " of shape " + c10::str(y.sizes()));
  if (z.size(1) != G.dim_z())
    throw input_error(path, "z has dim_z " + std::to_string(z.size(1)) + " but the generator takes " +
                                std::to_string(G.dim_z()));
  if (y.size(0) != z.size(0))
    throw input_error(path, "z has " + std::to_string(z.size(0)) + " rows but y has " + std::to_string(y.size(0)));
  if (z.size(0) == 0) throw input_error(path, "no latents (N = 0)");
  if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= G.n_classes())
    throw input_error(path, "y holds classes outside 0.." + std::to_string(G.n_classes() - 1));
  if (!torch::isfinite(z).all().item<bool>()) throw input_error(path, "z holds NaN or Inf");
}

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

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
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
        ("device", "cpu or cuda (default: cuda when available)", cxxopts::value<std::string>()->default_value(""));
    opts.add_options("latents")
        ("latents", "HDF5 latents: z [N, dim_z] float32, y [N] int64", cxxopts::value<std::string>())
        ("num", "images to draw (default: one batch)", cxxopts::value<int64_t>())
        ("truncation", "truncated normal z in [-T, T] (0: none)", cxxopts::value<double>()->default_value("0"))
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
        ("random-weights", "curve with a random-weight network (a smoke test: meaningless numbers)")
        ("json", "curve results as JSON lines");
    opts.add_options()
        ("threads", "LibTorch threads (0 = all cores)", cxxopts::value<int>()->default_value("0"))
        ("progress", "progress on stderr even when it is not a terminal")
        ("h,help", "show this help");
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
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
    if (args.count("latents") && (args.count("class") || args.count("truncation") || args.count("z-var")))
      throw exception("--latents gives z and y; --class, --truncation and --z-var apply to drawn latents only");
    const auto stream_dtype = args["stream-dtype"].as<std::string>();
    if (stream_dtype != "float32" && stream_dtype != "uint8") throw exception("--stream-dtype is float32 or uint8");
    const auto curve_var = args["curve-variable"].as<std::string>();
    if (curve_var != "truncation" && curve_var != "z_var") throw exception("--curve-variable is truncation or z_var");
    flag_at_least<int64_t>(args, "samples-per-class", 1);
    flag_at_least<int64_t>(args, "num-per-sheet", 1);
    flag_at_least<int64_t>(args, "num-midpoints", 0);
    const bool progress = args.count("progress") || stderr_is_terminal();
    setup_threads(args["threads"].as<int>());

    const torch::Device device = pick_device(args["device"].as<std::string>());

    // The reference's order: seed, build G (its construction draws), load, then prepare_z_y.
    torch::manual_seed(static_cast<uint64_t>(args["seed"].as<int64_t>()));
    GeneratorSource src;
    src.weights = args["weights"].as<std::string>();
    src.which = args["which"].as<std::string>();
    src.suffix = args["suffix"].as<std::string>();
    if (args.count("config-json")) src.config_json = args["config-json"].as<std::string>();
    src.flags = split_words(args["flags"].as<std::string>());
    auto loaded = load_generator(src);
    GeneratorImpl& G = *loaded.G;
    const Config& cfg = loaded.config;
    loaded.G->to(device);

    const int64_t batch_size = args.count("batch-size") ? args["batch-size"].as<int64_t>()
                                                        : std::max(cfg.G_batch_size, cfg.batch_size);
    if (batch_size < 1) throw exception("--batch-size must be at least 1");
    LatentOptions lat;
    lat.z_var = args.count("z-var") ? args["z-var"].as<double>() : cfg.z_var;
    lat.truncation = args["truncation"].as<double>();
    if (!(lat.z_var > 0) || !std::isfinite(lat.z_var)) throw exception("--z-var must be a positive finite number");
    if (!(lat.truncation >= 0) || !std::isfinite(lat.truncation))
      throw exception("--truncation must be a finite number >= 0 (0: none)");
    const int64_t fixed_class = args.count("class") ? args["class"].as<int64_t>() : -1;
    if (args.count("class") && (fixed_class < 0 || fixed_class >= G.n_classes()))
      throw exception("--class must be in 0.." + std::to_string(G.n_classes() - 1));
    LatentSampler sampler(batch_size, G.dim_z(), G.n_classes(), lat, fixed_class, device);

    // The main samples: latents from the file, or drawn batch by batch as utils.sample.
    torch::Tensor file_z, file_y;
    int64_t count = 0;
    if (args.count("latents")) {
      read_latents(args["latents"].as<std::string>(), G, file_z, file_y);
      count = file_z.size(0);
      if (args.count("num")) {
        const int64_t n = args["num"].as<int64_t>();
        if (n < 1 || n > count)
          throw exception("--num must be in 1.." + std::to_string(count) + " (the rows of --latents)");
        count = n;
      }
      file_z = file_z.to(device);
      file_y = file_y.to(device);
    } else {
      count = args.count("num") ? args["num"].as<int64_t>() : batch_size;
      if (count < 1) throw exception("--num must be at least 1");
    }
    if (batch_stats) G.train();
    const int64_t num_acc = args.count("num-standing-accumulations") ? args["num-standing-accumulations"].as<int64_t>()
                                                                     : cfg.num_standing_accumulations;
    if (args.count("accumulate-stats") && num_acc < 1)
      throw exception("--num-standing-accumulations must be at least 1, got " + std::to_string(num_acc));
    auto standing = [&] {
      if (!args.count("accumulate-stats")) return;
      if (accumulate_standing_stats(G, sampler.z_buffer(), sampler.y_buffer(), num_acc) == 0)
        std::cerr << "gan-sample: note: G has no myBN layers (config mybn is off); standing statistics only moved "
                     "its running statistics, as the reference does\n";
    };
    standing();


    std::cerr << "gan-sample: " << loaded.weights_file << " (" << loaded.which << ", "
              << (batch_stats ? "batch statistics" : "eval mode") << ", " << cfg.model << " " << cfg.resolution
              << "x" << cfg.resolution << ", dim_z " << G.dim_z() << ", " << G.n_classes() << " classes)\n";
    const int64_t sheet_size = args.count("sheet-size") ? args["sheet-size"].as<int64_t>() : batch_size;
    if (sheet_size < 1) throw exception("--sheet-size must be at least 1");

    const bool want_main = want_output || want_npz || want_stream || want_sheet;
    std::vector<torch::Tensor> out_images, out_z, out_y, npz_x, sheet_images;
    std::unique_ptr<metrics::SampleStreamWriter> stream;
    if (want_main) {
      if (want_stream) {
        metrics::SampleStreamHeader h;
        h.dtype = stream_dtype;
        h.channels = 3;
        h.height = h.width = cfg.resolution;
        h.count = count;
        h.meta = {{"generator", loaded.weights_file}, {"which", loaded.which},
                  {"mode", batch_stats ? "batch-stats" : "eval"}, {"seed", std::to_string(args["seed"].as<int64_t>())}};
        if (!args.count("latents")) {
          h.meta["z_var"] = std::to_string(lat.z_var);
          h.meta["truncation"] = std::to_string(lat.truncation);
        }
        stream = std::make_unique<metrics::SampleStreamWriter>(std::cout, h);
      }
      ProgressMeter meter("gan-sample", count, progress);
      int64_t sheet_have = 0;
      for (int64_t done = 0; done < count;) {
        torch::Tensor z, y;
        if (file_z.defined()) {
          const int64_t e = std::min(count, done + batch_size);
          z = file_z.slice(0, done, e);
          y = file_y.slice(0, done, e);
        } else {
          sampler.next(z, y);
        }
        torch::Tensor images;
        {
          torch::NoGradGuard ng;
          images = G.forward(z, G.shared(y)).to(torch::kFloat32);
        }
        const int64_t take = std::min(images.size(0), count - done);
        images = images.slice(0, 0, take).cpu();
        if (!torch::isfinite(images).all().item<bool>())
          throw Error(loaded.weights_file + ": G produced NaN or infinite pixels in samples " + std::to_string(done) +
                      ".." + std::to_string(done + take - 1) + " (nothing written but the stream's frames so far)");
        auto zc = z.slice(0, 0, take).cpu().clone(), yc = y.slice(0, 0, take).cpu().clone();
        if (want_output) out_images.push_back(images), out_z.push_back(zc);
        if (want_output || want_npz) out_y.push_back(yc);
        if (want_npz) npz_x.push_back(metrics::quantize_like_reference(images));
        if (want_stream)
          stream->write(stream_dtype == "uint8" ? metrics::quantize_like_reference(images) : images, yc);
        if (want_sheet && sheet_have < sheet_size) {
          const int64_t k = std::min(take, sheet_size - sheet_have);
          sheet_images.push_back(images.slice(0, 0, k));
          sheet_have += k;
        }
        done += take;
        meter.update(done);
      }
      meter.finish(count);
      if (stream) stream->finish();
      if (want_output) {
        auto images = torch::cat(out_images), z = torch::cat(out_z), y = torch::cat(out_y);
        write_atomically(args["output"].as<std::string>(), [&](const fs::path& tmp) {
          auto f = h5::File::create(tmp.string());
          f.write("images", images);
          f.write("z", z);
          f.write("y", y);
          f.set_attr("/", "weights", loaded.weights_file);
          f.set_attr("/", "which", loaded.which);
          f.set_attr("/", "mode", batch_stats ? "batch-stats" : "eval");
          f.close();
        });
      }
      if (want_npz)
        npz::save(args["sample-npz"].as<std::string>(), {{"x", torch::cat(npz_x)}, {"y", torch::cat(out_y)}});
      if (want_sheet) save_random_sheet(torch::cat(sheet_images), args["sheet"].as<std::string>());
    }

    if (want_class) {
      ClassSheetOptions co;
      co.n_classes = G.n_classes();
      co.classes_per_sheet = args.count("classes-per-sheet") ? args["classes-per-sheet"].as<int64_t>()
                                                             : classes_per_sheet(cfg.dataset, G.n_classes());
      if (co.classes_per_sheet < 1 || co.classes_per_sheet > G.n_classes())
        throw exception("--classes-per-sheet must be in 1.." + std::to_string(G.n_classes()));
      co.samples_per_class = args["samples-per-class"].as<int64_t>();
      co.z_buffer_rows = batch_size;
      co.latents = lat;
      auto files = save_class_sheets(G, args["class-sheets"].as<std::string>(), co);
      std::cerr << "gan-sample: " << files.size() << " class sheets in " << args["class-sheets"].as<std::string>()
                << "\n";
    }
    if (want_interp) {
      auto files = save_interp_sheets(G, args["interp"].as<std::string>(), args["num-per-sheet"].as<int64_t>(),
                                      args["num-midpoints"].as<int64_t>(), 0, lat.truncation);
      std::cerr << "gan-sample: " << files.size() << " interpolation sheets in " << args["interp"].as<std::string>()
                << "\n";
    }

    if (want_curve) {
      auto values = curve_values(args["truncation-curve"].as<std::string>());
      metrics::ExtractorOptions eo;
      eo.network = args["network"].as<std::string>();
      if (!args["features"].as<std::string>().empty()) {
        if (!eo.network.empty()) throw exception("--features and --network exclude each other");
        eo.network = args["features"].as<std::string>();
      }
      eo.weights = args["inception-weights"].as<std::string>();
      eo.random_weights = args.count("random-weights") > 0;
      eo.device = device.str();
      metrics::Moments ref;
      if (args.count("moments")) ref = metrics::load_moments_npz(args["moments"].as<std::string>());
      // A random-weight scorer reseeds torch's generator; the curve's draws go on from ours.
      auto cpu_gen = at::detail::getDefaultCPUGenerator();
      const auto cpu_state = cpu_gen.get_state();
      auto extractor = metrics::make_feature_extractor(eo);
      cpu_gen.set_state(cpu_state);
      const bool random = extractor->random_weights() || ref.random_weights;
      for (double v : values) {
        LatentOptions o = lat;
        (curve_var == "truncation" ? o.truncation : o.z_var) = v;
        if (!(v > 0)) throw exception("--truncation-curve values must be positive, got " + std::to_string(v));
        sampler.set_options(o);
        standing();  // the reference re-accumulates at every point
        auto s = score_samples(G, sampler, count, *extractor, args.count("moments") ? &ref : nullptr,
                               50, progress);
        if (args.count("json")) {
          auto j = Json::object();
          j.set(curve_var, v);
          j.set("images", s.count);
          if (s.has_is) j.set("IS_mean", s.IS_mean), j.set("IS_std", s.IS_std);
          if (s.has_fid) j.set("FID", s.FID);
          j.set("random_weights", random);
          std::cout << j.dump() << "\n" << std::flush;
        } else {
          char line[256];
          std::snprintf(line, sizeof line, "%s %.4f: %lld images", curve_var.c_str(), v, (long long)s.count);
          std::cout << line;
          if (s.has_is) std::snprintf(line, sizeof line, ", IS %.5f +/- %.5f", s.IS_mean, s.IS_std), std::cout << line;
          if (s.has_fid) std::snprintf(line, sizeof line, ", FID %.5f", s.FID), std::cout << line;
          std::cout << (random ? std::string(" ") + metrics::kRandomWeightsLabel : "") << "\n" << std::flush;
        }
      }
    }
    return 0;
  });
}
