#include "libbiggan/training/train_cli.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "libbiggan/data/hdf5_dataset.h"
#include "libbiggan/training/config_from_tensors.h"
#include "libbiggan/training/distributed.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/common_flags.h"
#include "libbiggan/util/device.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// Our flags: name, takes a value, help.
struct OwnFlag {
  const char* name;
  bool value;
  const char* help;
};
const OwnFlag kOwnFlags[] = {
    {"data_path", true, "the HDF5 training file (default: <data_root>/ILSVRC<res>.hdf5 as the reference)"},
    {"flags-file", true, "read reference flags from a recipe file (pipelines/*.flags); later flags override"},
    {"total_itr", true, "stop after this iteration (default: run num_epochs)"},
    {"lr_decay_start", true, "from this iteration on, G's and D's learning rates fall linearly to 0 at --total_itr\n"
                             "      (needs --total_itr; default: constant rates, as the reference)"},
    {"n_classes", true, "number of classes (default: from the data set name, else from the data file)"},
    {"resume_from", true, "fine-tune: a new run starting from this weights folder's tensors that fit (with\n"
                          "      another --n_classes the class embeddings are re-initialised; see docs/fine-tuning.md)"},
    {"classifier", true, "Fashion-MNIST classifier weights: test with classifier-FID / IS / accuracy"},
    {"eval_real", true, "real images (HDF5) the classifier yardstick compares against"},
    {"eval_samples", true, "samples per test for the classifier yardstick (default 2000)"},
    {"inception_weights", true, "Inception weights (.pth): IS / FID of num_inception_images samples at each test"},
    {"moments", true, "the data set's Inception moments (.npz from inception-moments) for FID"},
    {"network", true, "Inception flavour: torchvision (the reference's scorer) or fid (pytorch-fid's)"},
    {"metrics", true,
     "what each test computes, by name: fid, is, kid, pr, dc, accuracy, comma-separated (e.g. fid,kid,pr); a "
     "sample count as in fid10k sets the samples per test (default: the test's usual record; docs/metrics.md)"},
    {"amp", true, "mixed precision: bf16 (CPU or CUDA) or fp16 (CUDA, with loss scaling; skipped steps in\n"
                  "      logs/<name>/amp.jsonl): G and D run under autocast, weights, optimiser state and saves stay\n"
                  "      float32 (default off: float32 throughout); auto: bf16 where the CPU (AVX-512/AMX BF16) or\n"
                  "      GPU computes it natively, with --channels_last too, else off"},
    {"loader_threads", true, "background threads preparing batches (default 2, or the reference's --num_workers when given; at least 1)"},
    {"threads", true, common_flag_help::kThreads},
    {"device", true, common_flag_help::kDevice},
    {"dist_backend", true, "several processes (RANK / WORLD_SIZE set, docs/distributed.md): auto (nccl on CUDA,\n"
                           "      gloo on the CPU), gloo or nccl; with several processes --device cuda means cuda:LOCAL_RANK"},
    {"dist_timeout", true, "seconds a collective waits for the other processes before the run fails naming the\n"
                           "      rank that stopped (default 1800; rank 0's tests and saves must fit in it)"},
    {"progress", false, common_flag_help::kProgress},
    {"no_sheets", false, "do not write sample sheets at saves"},
    {"stop_on_collapse", false, "end the run (saved, exit 3) when the collapse watchdog fires (docs/collapse.md)"},
    {"no_collapse_watch", false, "turn the collapse watchdog off"},
    {"collapse_window", true, "iterations the watchdog averages losses over (default 50)"},
    {"collapse_d_floor", true, "collapse when D_loss_real + D_loss_fake averages below this... (default 0.1)"},
    {"collapse_g_rise", true, "...while G_loss averages this much above its lowest average (default 1.0)"},
    {"collapse_frozen", true, "collapse when every loss moves less than this over the window (default 0.01)"},
    {"collapse_sv_jump", true, "collapse when a G singular value exceeds this times its recent median (default 2.0)"},
    {"collapse_score_turn", true, "collapse when FID is this times its best (IS: best / this) two tests running (default 2.0)"},
    {"version", false, common_flag_help::kVersion},
    {"help", false, common_flag_help::kHelp},
};

std::vector<std::string> read_flags_file(const std::string& path) {
  return parse_flags_file_text(read_file(path));
}

}  // namespace

std::string train_usage() {
  std::ostringstream o;
  o << "gan-train: train BigGAN / BigGAN-deep as BigGAN-PyTorch's train.py does.\n\n"
       "usage: gan-train [--flags-file pipelines/RECIPE.flags] [reference flags] [our flags]\n\n"
       "Our flags:\n";
  for (const auto& f : kOwnFlags) o << "  --" << f.name << (f.value ? " VALUE" : "") << "\n      " << f.help << "\n";
  o << "\nThe reference's flags (same names and defaults as train.py):\n";
  Config c;
  c.for_each_field([&](const char* name, const auto& field, const char* flag, const char* help) {
    std::string f = flag[0] ? flag : name;
    if (f == "-") return;
    std::ostringstream def;
    def << std::boolalpha << field;
    o << "  --" << f << "  " << help << " (default " << def.str() << ")\n";
  });
  return o.str();
}

namespace {

int64_t own_flag_int(const std::string& name, const std::string& value) {
  try {
    size_t pos = 0;
    long long v = std::stoll(value, &pos);
    if (pos != value.size()) throw std::invalid_argument(value);
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    throw Error("--" + name + ": '" + value + "' is not an integer");
  }
}

double own_flag_double(const std::string& name, const std::string& value) {
  try {
    size_t pos = 0;
    double v = std::stod(value, &pos);
    if (pos != value.size() || !std::isfinite(v)) throw std::invalid_argument(value);
    return v;
  } catch (const std::exception&) {
    throw Error("--" + name + ": '" + value + "' is not a finite number");
  }
}

// What was parsed of the command line before the reference's flags are applied.
struct ParsedFlags {
  std::vector<std::string> reference;  // flags for Config::apply_reference_flags
  std::string n_classes_text, device_name;
  std::string amp = "off";  // resolved once the device is known (--amp auto)
  bool loader_threads_given = false;
};

// Stores one of our flags (value "" for switches) into the command.
void apply_own_flag(TrainCommand& cmd, ParsedFlags& parsed, const std::string& n, const std::string& value) {
  if (n == "data_path") cmd.options.data_path = value;
  else if (n == "flags-file") {
    auto from_file = read_flags_file(value);
    parsed.reference.insert(parsed.reference.begin(), from_file.begin(), from_file.end());
  } else if (n == "total_itr") cmd.options.total_itr = own_flag_int(n, value);
  else if (n == "lr_decay_start") cmd.options.lr_decay_start = own_flag_int(n, value);
  else if (n == "n_classes") parsed.n_classes_text = value;
  else if (n == "resume_from") cmd.options.resume_from = value;
  else if (n == "classifier") cmd.classifier = value;
  else if (n == "eval_real") cmd.eval_real = value;
  else if (n == "eval_samples") cmd.eval_samples = own_flag_int(n, value);
  else if (n == "inception_weights") cmd.inception_weights = value;
  else if (n == "moments") cmd.moments = value;
  else if (n == "network") cmd.network = value;
  else if (n == "metrics") cmd.metrics = metrics::parse_metrics(value);
  else if (n == "amp") parsed.amp = value == "auto" ? value : amp_name(parse_amp(value));  // a bad value: now
  else if (n == "loader_threads") {
    cmd.options.loader_threads = static_cast<int>(own_flag_int(n, value));
    parsed.loader_threads_given = true;
  }
  else if (n == "threads") cmd.threads = static_cast<int>(own_flag_int(n, value));
  else if (n == "device") parsed.device_name = value;
  else if (n == "dist_backend") {
    if (value != "auto" && value != "gloo" && value != "nccl")
      throw Error("--dist_backend: '" + value + "' is not auto, gloo or nccl");
    cmd.options.distributed.backend = value;
  }
  else if (n == "dist_timeout") {
    const double s = own_flag_double(n, value);
    if (s <= 0) throw Error("--dist_timeout must be > 0 seconds, got " + value);
    cmd.options.distributed.timeout = std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
  }
  else if (n == "progress") cmd.options.progress = true;
  else if (n == "no_sheets") cmd.options.sample_sheets = false;
  else if (n == "stop_on_collapse") cmd.options.stop_on_collapse = true;
  else if (n == "no_collapse_watch") cmd.options.watch_collapse = false;
  else if (n == "collapse_window") cmd.options.collapse.window = own_flag_int(n, value);
  else if (n == "collapse_d_floor") cmd.options.collapse.d_loss_floor = own_flag_double(n, value);
  else if (n == "collapse_g_rise") cmd.options.collapse.g_loss_rise = own_flag_double(n, value);
  else if (n == "collapse_frozen") cmd.options.collapse.frozen_tolerance = own_flag_double(n, value);
  else if (n == "collapse_sv_jump") cmd.options.collapse.sv_jump = own_flag_double(n, value);
  else if (n == "collapse_score_turn") cmd.options.collapse.score_turn = own_flag_double(n, value);
  else if (n == "help") cmd.help = true;
  else if (n == "version") cmd.version = true;
}

// Splits argv into our flags (applied) and the reference's (kept in order).
ParsedFlags split_flags(TrainCommand& cmd, const std::vector<std::string>& args) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h") {
      cmd.help = true;
      continue;
    }
    const OwnFlag* own = nullptr;
    std::string key, inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      key = a.substr(2);
      if (auto eq = key.find('='); eq != std::string::npos) {
        inline_value = key.substr(eq + 1);
        key = key.substr(0, eq);
        has_inline = true;
      }
      for (const auto& f : kOwnFlags)
        if (key == f.name) own = &f;
    }
    if (!own) {
      parsed.reference.push_back(a);
      continue;
    }
    std::string value;
    if (own->value) {
      if (has_inline) value = inline_value;
      else if (i + 1 < args.size()) value = args[++i];
      else throw Error(std::string("--") + own->name + ": expected a value");
    }
    apply_own_flag(cmd, parsed, own->name, value);
  }
  return parsed;
}

// The data file (ours if given, else where the reference looks), and resolution / n_classes from
// the data set name where the reference knows it, else from the file (or --n_classes).
void derive_data_settings(TrainCommand& cmd, const std::string& n_classes_text) {
  const int64_t known_res = dataset_resolution(cmd.config.dataset);
  if (cmd.options.data_path.empty()) {
    if (known_res < 0)
      throw Error("--dataset " + cmd.config.dataset + " is not one the reference knows: give --data_path FILE.hdf5");
    cmd.options.data_path = cmd.config.data_root + "/ILSVRC" + std::to_string(known_res) + ".hdf5";
  }
  data::HDF5Dataset probe(cmd.options.data_path, false);
  cmd.config.resolution = known_res > 0 ? known_res : probe.height();
  if (!n_classes_text.empty()) {
    try {
      cmd.config.n_classes = std::stoll(n_classes_text);
    } catch (const std::exception&) {
      throw Error("--n_classes: '" + n_classes_text + "' is not an integer");
    }
  } else {
    const int64_t known_nc = dataset_n_classes(cmd.config.dataset);
    cmd.config.n_classes = known_nc > 0 ? known_nc : probe.num_classes();
  }
}

// --metrics: a test network to compute them with, and the metric that --which_best reads among them.
void validate_metrics(const TrainCommand& cmd) {
  using metrics::Metric;
  if (cmd.metrics.empty()) return;
  if (cmd.classifier.empty() && cmd.inception_weights.empty())
    throw Error("--metrics needs a test network: --classifier (with --eval_real) or --inception_weights (with "
                "--moments)");
  if (!cmd.inception_weights.empty() && cmd.metrics.has(Metric::kAccuracy))
    throw Error("--metrics accuracy needs the classifier yardstick (--classifier): the Inception test draws its "
                "classes");
  if (cmd.config.num_best_copies > 0) {
    const bool is = cmd.config.which_best == "IS";
    if (!cmd.metrics.has(is ? Metric::kIs : Metric::kFid))
      throw Error("--which_best " + cmd.config.which_best + " needs " + (is ? "is" : "fid") + " in --metrics '" +
                  cmd.metrics.names() + "' (or --num_best_copies 0)");
  }
}

// The reference's flags that have no job in gan-train (sample.py's, display, flags the reference
// itself ignores): refused when given with another value than the default, each naming where that
// job is done here, rather than accepted and ignored.
void refuse_inert_flags(const TrainCommand& cmd) {
  static const std::pair<const char*, const char*> kInert[] = {
      {"no_fid", "choose the test's metrics with --metrics (e.g. --metrics is)"},
      {"pbar", "progress shows on a terminal, or with --progress"},
      {"log_G_spectra", "the reference does nothing with it; --sv_log_interval logs the singular values"},
      {"log_D_spectra", "the reference does nothing with it; --sv_log_interval logs the singular values"},
      {"config_from_name", "it is sample.py's: gan-sample reads the config from the weights folder"},
      {"sample_npz", "it is sample.py's: gan-sample --sample-npz"},
      {"sample_num_npz", "it is sample.py's: gan-sample --num"},
      {"sample_sheets", "it is sample.py's: gan-sample --class-sheets (gan-train writes sheets at every save)"},
      {"sample_interps", "it is sample.py's: gan-sample --interp"},
      {"sample_sheet_folder_num", "it is sample.py's: gan-sample --class-sheets DIR"},
      {"sample_random", "it is sample.py's: gan-sample --sheet"},
      {"sample_trunc_curves", "it is sample.py's: gan-sample --truncation-curve"},
      {"sample_inception_metrics", "it is sample.py's: gan-sample --stream | fid"},
  };
  const Json given = cmd.config.to_json(), defaults = Config{}.to_json();
  for (const auto& [key, why] : kInert)
    if (cmd.options.explicit_keys.count(key) && given[key].dump() != defaults[key].dump())
      throw Error(std::string("--") + key + " " + given[key].dump() + " does nothing in gan-train: " + why);
}

// Every setting checked before the trainer creates a folder or writes a log.
void validate_command(TrainCommand& cmd) {
  refuse_inert_flags(cmd);
  if (cmd.options.total_itr < 0) throw Error("--total_itr must be >= 0");
  if (cmd.options.lr_decay_start != -1 &&
      (cmd.options.total_itr == 0 || cmd.options.lr_decay_start < 0 ||
       cmd.options.lr_decay_start >= cmd.options.total_itr))
    throw Error("--lr_decay_start " + std::to_string(cmd.options.lr_decay_start) +
                (cmd.options.total_itr == 0 ? " needs --total_itr (the iteration where the rates reach 0)"
                                            : " must lie in [0, --total_itr " + std::to_string(cmd.options.total_itr) + ")"));
  if (cmd.options.stop_on_collapse && !cmd.options.watch_collapse)
    throw Error("--stop_on_collapse needs the collapse watchdog, which --no_collapse_watch turns off");
  CollapseWatchdog check(cmd.options.collapse);  // thresholds out of range: the error, before anything is written
  if (cmd.eval_samples < 1) throw Error("--eval_samples must be at least 1, got " + std::to_string(cmd.eval_samples));
  if (cmd.options.loader_threads < 1)
    throw Error("--loader_threads must be at least 1, got " + std::to_string(cmd.options.loader_threads));
  if (cmd.threads < 0) throw Error("--threads must be >= 0 (0: all cores), got " + std::to_string(cmd.threads));
  if (!cmd.network.empty() && cmd.network != "torchvision" && cmd.network != "fid")
    throw Error("--network must be torchvision or fid, got '" + cmd.network + "'");
  cmd.config.validate_training("gan-train flags");
  check_precision(cmd.config, cmd.options.amp, cmd.options.device);
  if (!cmd.classifier.empty() && cmd.eval_real.empty())
    throw Error("--classifier needs --eval_real (the real images to compare against)");
  if (!cmd.inception_weights.empty() && cmd.moments.empty())
    throw Error("--inception_weights needs --moments (the data set's Inception moments)");
  if (!cmd.inception_weights.empty() && !cmd.classifier.empty())
    throw Error("give either --classifier or --inception_weights, not both");
  validate_metrics(cmd);
}

}  // namespace

TrainCommand parse_train_command(const std::vector<std::string>& args) {
  TrainCommand cmd;
  const ParsedFlags parsed = split_flags(cmd, args);
  if (cmd.help || cmd.version) return cmd;
  cmd.options.device = pick_device(parsed.device_name);
  // One process per device: each rank takes the GPU its LOCAL_RANK names (torchrun's convention).
  const auto env = distributed_env_from_environment();
  if (env.active() && cmd.options.device.is_cuda() && !cmd.options.device.has_index())
    cmd.options.device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(env.local_rank));
  if (env.active()) resolve_backend(cmd.options.distributed.backend, cmd.options.device);  // a bad name: now
  // --amp auto is the fastest this device computes natively: with bf16, channels-last activations
  // as well (the embedded default: 24 % more iterations a minute; in float32 they gain nothing).
  cmd.options.amp = resolve_amp(parsed.amp, cmd.options.device, "gan-train", ", channels-last activations");
  cmd.config.apply_reference_flags(parsed.reference, "gan-train flags");
  if (parsed.amp == "auto" && cmd.options.amp == Amp::kBF16) cmd.config.channels_last = true;
  // What the command line set keeps its word against saved tensors; resolution and classes always
  // come from the data (config_from_tensors.h).
  cmd.options.explicit_keys = flag_keys(parsed.reference);
  cmd.options.explicit_keys.insert({"resolution", "n_classes"});
  // The reference's DataLoader workers are our loader's threads (batches do not depend on their number).
  if (!parsed.loader_threads_given && cmd.options.explicit_keys.count("num_workers"))
    cmd.options.loader_threads = static_cast<int>(std::max<int64_t>(1, cmd.config.num_workers));
  cmd.config.update_roots();
  derive_data_settings(cmd, parsed.n_classes_text);
  validate_command(cmd);
  return cmd;
}

}  // namespace biggan
