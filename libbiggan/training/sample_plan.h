// What gan-sample does, as one library call: a SamplePlan (filled from the tool's flags) says which
// generator, which latents and which outputs; run_sample_plan loads G, draws or reads the latents in
// the reference's order and runs them once through the sample path (sample_run.h) into every output
// asked for (HDF5, npz, stream, random sheet), then writes class and interpolation sheets and the
// IS/FID truncation curve.
#pragma once
#include <torch/torch.h>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/training/load_generator.h"
#include "libbiggan/util/error.h"

namespace biggan {

// A flag value that does not fit the generator or the latents file (e.g. --class beyond its classes):
// the tool reports it as a usage error, as it reports bad flags.
struct FlagError : Error {
  using Error::Error;
};

struct SamplePlan {
  GeneratorSource source;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;               // torch.manual_seed before G is built (the reference's --seed)
  bool batch_stats = false;        // train-mode batch statistics instead of eval mode
  bool accumulate_stats = false;   // standing statistics first (and again at every curve point)
  std::optional<int64_t> num_standing_accumulations;  // default: the config's
  std::optional<int64_t> batch_size;                  // default: max(G_batch_size, batch_size)
  bool progress = false;
  // --amp: the main samples' forward under autocast to this type (kFloat: float32).
  torch::ScalarType autocast = torch::kFloat;

  // Latents: a file (z, y), or drawn (utils.sample) with these settings.
  std::string latents_file;
  std::optional<int64_t> num;      // default: the file's rows, or one batch
  std::optional<double> z_var;     // default: the config's
  double truncation = 0;
  // A G with BN statistics per truncation level (TF-Hub BigGAN-deep) uses the level of
  // `truncation` (1 when 0), also with a latents file (whose z it leaves as they are); between
  // levels by `truncation_lookup` (linear, or huggingface: pytorch-pretrained-BigGAN's lookup).
  bool truncation_given = false;
  std::string truncation_lookup = "linear";
  std::optional<int64_t> fixed_class;

  // Outputs of the main samples ("" / false: not wanted).
  std::string output_h5, sample_npz, sheet_png;
  bool stream = false;             // msgpack stream on `out`
  std::string stream_dtype = "float32";
  std::optional<int64_t> sheet_size;  // default: one batch

  // Sheets ("" : not wanted).
  std::string class_sheets_dir;
  std::optional<int64_t> classes_per_sheet;  // default: the reference's table
  int64_t samples_per_class = 10;
  std::string interp_dir;
  int64_t num_per_sheet = 16, num_midpoints = 8;

  // The truncation curve (empty: none): IS / FID of `num` samples at each value.
  std::vector<double> curve;
  std::string curve_variable = "truncation";  // or "z_var"
  std::string moments_npz;                    // reference moments for FID ("" : IS only)
  metrics::ExtractorOptions scorer;
  bool json = false;                          // curve points as JSON lines

  bool wants_main_samples() const { return !output_h5.empty() || !sample_npz.empty() || stream || !sheet_png.empty(); }
};

// Runs the plan: the stream and curve lines go to `out`, notes to `log`. Errors: FlagError for a
// flag that does not fit the generator, biggan::Error for bad inputs; outputs not complete when an
// error comes are removed (files finished before it stay).
void run_sample_plan(const SamplePlan& plan, std::ostream& out, std::ostream& log);

}  // namespace biggan
