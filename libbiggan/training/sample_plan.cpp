#include "libbiggan/training/sample_plan.h"

#include <cmath>
#include <cstdio>
#include <ostream>

#include "libbiggan/metrics/feature_options.h"
#include "libbiggan/metrics/moments_file.h"
#include "libbiggan/models/truncation_stats.h"
#include "libbiggan/training/bn_standing_stats.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_scores.h"
#include "libbiggan/training/sample_sinks.h"
#include "libbiggan/training/sampling.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/provenance.h"

namespace biggan {

namespace {

// G loaded and prepared, the sampler made (its construction draws, as prepare_z_y), settings resolved.
struct Prepared {
  LoadedGenerator loaded;
  int64_t batch_size = 0, num_acc = 0;
  LatentOptions latents;
  std::unique_ptr<LatentSampler> sampler;
  std::unique_ptr<FileLatents> file;
  int64_t count = 0;
  GeneratorImpl& G() { return *loaded.G; }
  const Config& config() const { return loaded.config; }
};

// BN statistics for --truncation: a G with them per truncation level (models/truncation_stats.h)
// uses the level of --truncation (1 without); a folder converted from a TF-Hub BigGAN module, which
// keeps none we can read, gets standing statistics at T (bn_standing_stats.h). Either is said on
// `log`. --truncation with a latents file means only this, so other generators refuse it.
void truncation_statistics(const SamplePlan& plan, Prepared& p, std::ostream& log) {
  GeneratorImpl& G = p.G();
  const int64_t levels = truncation_levels(G);
  if (levels == 0) {
    const bool converted = !p.config().tfhub_module.empty();
    if (!plan.latents_file.empty() && plan.truncation_given && !converted)
      throw FlagError("--latents gives z and y; --class, --truncation and --z-var apply to drawn latents only "
                      "(--truncation also sets the BN statistics of a folder converted by tfhub-convert)");
    if (!converted || !plan.truncation_given || plan.truncation <= 0 || plan.batch_stats || plan.accumulate_stats) return;
    if (p.num_acc < 1) throw FlagError("--num-standing-accumulations must be at least 1, got " + std::to_string(p.num_acc));
    const int64_t n = average_bn_statistics(G, *p.sampler, p.num_acc);
    log << "gan-sample: " << p.config().tfhub_module << " keeps no BN statistics per truncation that we read: "
        << "standing statistics of " << n << " BN layers at truncation " << plan.truncation << " (" << p.num_acc
        << " batches of " << p.batch_size << ")\n";
    return;
  }
  const double t = plan.truncation > 0 ? plan.truncation : 1.0;
  if (t > 1) throw FlagError("--truncation must be at most 1 for a G with BN statistics per truncation level");
  const auto lookup = parse_truncation_lookup(plan.truncation_lookup, "--truncation-lookup");
  select_truncation_statistics(G, t, lookup);
  const auto m = truncation_level_mix(t, levels, lookup);
  log << "gan-sample: BN statistics of truncation " << t << " (level " << m.lower;
  if (m.lower_weight != 1) log << " x " << m.lower_weight << " + level " << m.lower + 1 << " x " << 1 - m.lower_weight;
  log << " of " << levels << ", " << plan.truncation_lookup << ")\n";
}

// The reference's order: seed, build G (its construction draws), load, then prepare_z_y; every check
// that needs G comes before any output.
Prepared prepare(const SamplePlan& plan, std::ostream& log) {
  Prepared p;
  torch::manual_seed(plan.seed);
  p.loaded = load_generator(plan.source);
  GeneratorImpl& G = p.G();
  const Config& cfg = p.config();
  G.to(plan.device);
  p.batch_size = plan.batch_size.value_or(std::max(cfg.G_batch_size, cfg.batch_size));
  if (p.batch_size < 1) throw FlagError("--batch-size must be at least 1");
  p.latents.z_var = plan.z_var.value_or(cfg.z_var);
  p.latents.truncation = plan.truncation;
  if (!(p.latents.z_var > 0) || !std::isfinite(p.latents.z_var)) throw FlagError("--z-var must be a positive finite number");
  if (!(p.latents.truncation >= 0) || !std::isfinite(p.latents.truncation))
    throw FlagError("--truncation must be a finite number >= 0 (0: none)");
  const int64_t fixed_class = plan.fixed_class.value_or(-1);
  if (plan.fixed_class && (fixed_class < 0 || fixed_class >= G.n_classes()))
    throw FlagError("--class must be in 0.." + std::to_string(G.n_classes() - 1));
  p.sampler = std::make_unique<LatentSampler>(p.batch_size, G.dim_z(), G.n_classes(), p.latents, fixed_class, plan.device);
  if (!plan.latents_file.empty()) {
    p.file = std::make_unique<FileLatents>(plan.latents_file, G.dim_z(), G.n_classes(), p.batch_size, plan.device);
    if (plan.num) {
      if (*plan.num < 1 || *plan.num > p.file->rows())
        throw FlagError("--num must be in 1.." + std::to_string(p.file->rows()) + " (the rows of --latents)");
      p.file->keep_first(*plan.num);
    }
    p.count = p.file->count();
  } else {
    p.count = plan.num.value_or(p.batch_size);
    if (p.count < 1) throw FlagError("--num must be at least 1");
  }
  p.num_acc = plan.num_standing_accumulations.value_or(cfg.num_standing_accumulations);
  if (plan.accumulate_stats && p.num_acc < 1)
    throw FlagError("--num-standing-accumulations must be at least 1, got " + std::to_string(p.num_acc));
  truncation_statistics(plan, p, log);
  if (plan.batch_stats) G.train();
  return p;
}

void standing_stats(const SamplePlan& plan, Prepared& p, std::ostream& log) {
  if (!plan.accumulate_stats) return;
  if (accumulate_standing_stats(p.G(), p.sampler->z_buffer(), p.sampler->y_buffer(), p.num_acc) == 0)
    log << "gan-sample: note: G has no myBN layers (config mybn is off); standing statistics only moved "
           "its running statistics, as the reference does\n";
}

// The main samples, once through G, into every output asked for (in the order they are finished:
// the stream's end frame, the HDF5 file, the npz, the sheet).
void write_main_samples(const SamplePlan& plan, Prepared& p, int64_t sheet_size, std::ostream& out) {
  const auto& loaded = p.loaded;
  const std::string mode = plan.batch_stats ? "batch-stats" : "eval";
  const SampleShape shape{p.count, p.config().resolution, p.G().dim_z()};
  std::vector<std::unique_ptr<SampleSink>> sinks;
  if (plan.stream) {
    metrics::SampleStreamHeader h;
    h.dtype = plan.stream_dtype;
    h.channels = 3;
    h.height = h.width = shape.resolution;
    h.count = p.count;
    h.meta = {{"generator", loaded.weights_file}, {"which", loaded.which}, {"mode", mode},
              {"seed", std::to_string(static_cast<int64_t>(plan.seed))}};
    if (!p.file) {
      h.meta["z_var"] = std::to_string(p.latents.z_var);
      h.meta["truncation"] = std::to_string(p.latents.truncation);
    }
    {
      const auto who = provenance();
      h.meta["tool"] = who.tool;
      h.meta["version"] = who.version;
      h.meta["command_line"] = who.command_line;
    }
    sinks.push_back(std::make_unique<StreamSampleSink>(out, h));
  }
  if (!plan.output_h5.empty())
    sinks.push_back(std::make_unique<Hdf5SampleSink>(
        plan.output_h5, shape,
        std::vector<std::pair<std::string, std::string>>{{"weights", loaded.weights_file}, {"which", loaded.which}, {"mode", mode}}));
  if (!plan.sample_npz.empty()) sinks.push_back(std::make_unique<NpzSampleSink>(plan.sample_npz, shape));
  if (!plan.sheet_png.empty()) sinks.push_back(std::make_unique<SheetSampleSink>(plan.sheet_png, sheet_size));
  std::vector<SampleSink*> to;
  for (auto& s : sinks) to.push_back(s.get());
  auto drawn = p.file ? nullptr : drawn_latents(*p.sampler, p.count);
  SampleRunOptions ro;
  ro.generator_name = loaded.weights_file;
  ro.failure_note = " (nothing written but the stream's frames so far)";
  ro.progress = plan.progress;
  ro.progress_label = "gan-sample";
  ro.autocast = plan.autocast;
  run_samples(p.G(), p.file ? static_cast<LatentSource&>(*p.file) : *drawn, to, ro);
}

void write_sheets(const SamplePlan& plan, Prepared& p, std::ostream& log) {
  GeneratorImpl& G = p.G();
  if (!plan.class_sheets_dir.empty()) {
    ClassSheetOptions co;
    co.n_classes = G.n_classes();
    co.classes_per_sheet = plan.classes_per_sheet.value_or(classes_per_sheet(p.config().dataset, G.n_classes()));
    if (co.classes_per_sheet < 1 || co.classes_per_sheet > G.n_classes())
      throw FlagError("--classes-per-sheet must be in 1.." + std::to_string(G.n_classes()));
    co.samples_per_class = plan.samples_per_class;
    co.z_buffer_rows = p.batch_size;
    co.latents = p.latents;
    auto files = save_class_sheets(G, plan.class_sheets_dir, co);
    log << "gan-sample: " << files.size() << " class sheets in " << plan.class_sheets_dir << "\n";
  }
  if (!plan.interp_dir.empty()) {
    auto files = save_interp_sheets(G, plan.interp_dir, plan.num_per_sheet, plan.num_midpoints, 0, p.latents.truncation);
    log << "gan-sample: " << files.size() << " interpolation sheets in " << plan.interp_dir << "\n";
  }
}

void print_curve_point(std::ostream& out, const SamplePlan& plan, double v, const SampleScores& s, bool random) {
  const std::string& var = plan.curve_variable;
  if (plan.json) {
    auto j = Json::object();
    j.set(var, v);
    j.set("images", s.count);
    if (s.has_is) j.set("IS_mean", s.IS_mean), j.set("IS_std", s.IS_std);
    if (s.has_fid) j.set("FID", s.FID);
    j.set("random_weights", random);
    out << j.dump() << "\n" << std::flush;
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s %.4f: %lld images", var.c_str(), v, (long long)s.count);
  out << line;
  if (s.has_is) std::snprintf(line, sizeof line, ", IS %.5f +/- %.5f", s.IS_mean, s.IS_std), out << line;
  if (s.has_fid) std::snprintf(line, sizeof line, ", FID %.5f", s.FID), out << line;
  out << (random ? std::string(" ") + metrics::kRandomWeightsLabel : "") << "\n" << std::flush;
}

// sample.py's sample_trunc_curves: at each value (of truncation or z_var) standing statistics again
// when asked, then IS / FID of `count` fresh samples.
void truncation_curve(const SamplePlan& plan, Prepared& p, std::ostream& out, std::ostream& log) {
  metrics::ExtractorOptions eo = plan.scorer;
  eo.device = plan.device.str();
  metrics::Moments ref;
  if (!plan.moments_npz.empty()) ref = metrics::load_moments_npz(plan.moments_npz);
  // A random-weight scorer reseeds torch's generator; the curve's draws go on from ours.
  auto cpu_gen = at::detail::getDefaultCPUGenerator();
  const auto cpu_state = cpu_gen.get_state();
  auto extractor = metrics::make_feature_extractor(eo);
  cpu_gen.set_state(cpu_state);
  const bool random = extractor->random_weights() || ref.random_weights;
  for (double v : plan.curve) {
    LatentOptions o = p.latents;
    (plan.curve_variable == "truncation" ? o.truncation : o.z_var) = v;
    if (!(v > 0)) throw FlagError("--truncation-curve values must be positive, got " + std::to_string(v));
    p.sampler->set_options(o);
    if (plan.curve_variable == "truncation" && truncation_levels(p.G()) > 0) {  // and its BN statistics
      if (v > 1) throw FlagError("--truncation-curve values must be at most 1 for a G with BN statistics per truncation level");
      select_truncation_statistics(p.G(), v, parse_truncation_lookup(plan.truncation_lookup, "--truncation-lookup"));
    }
    standing_stats(plan, p, log);  // the reference re-accumulates at every point
    auto s = score_samples(p.G(), *p.sampler, p.count, *extractor, plan.moments_npz.empty() ? nullptr : &ref, 50,
                           plan.progress);
    print_curve_point(out, plan, v, s, random);
  }
}

}  // namespace

void run_sample_plan(const SamplePlan& plan, std::ostream& out, std::ostream& log) {
  Prepared p = prepare(plan, log);
  standing_stats(plan, p, log);
  const Config& cfg = p.config();
  log << "gan-sample: " << p.loaded.weights_file << " (" << p.loaded.which << ", "
      << (plan.batch_stats ? "batch statistics" : "eval mode") << ", " << cfg.model << " " << cfg.resolution << "x"
      << cfg.resolution << ", dim_z " << p.G().dim_z() << ", " << p.G().n_classes() << " classes)\n";
  const int64_t sheet_size = plan.sheet_size.value_or(p.batch_size);
  if (sheet_size < 1) throw FlagError("--sheet-size must be at least 1");
  if (plan.wants_main_samples()) write_main_samples(plan, p, sheet_size, out);
  write_sheets(plan, p, log);
  if (!plan.curve.empty()) truncation_curve(plan, p, out, log);
}

}  // namespace biggan
