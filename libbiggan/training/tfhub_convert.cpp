#include "libbiggan/training/tfhub_convert.h"

#include "libbiggan/models/model.h"
#include "libbiggan/training/hf_biggan_deep.h"
#include "libbiggan/training/tfhub_deep_mapping.h"
#include "libbiggan/training/truncation_tables.h"
#include "libbiggan/training/train_state.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/progress.h"
#include "libbiggan/util/shape_text.h"

namespace biggan {
namespace fs = std::filesystem;
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Every variable the mapping needs exists as float32 with the shape the model asks for; all
// problems at once, in one line, before any tensor is read.
void check_variables(const TfVariables& vars, const std::vector<TfHubTensor>& plan, const StateDict& model) {
  std::vector<std::string> problems;
  std::string file;
  for (const auto& p : plan) {
    const auto* m = model.find(p.key);
    if (!m) throw Error("internal: the Generator has no tensor '" + p.key + "'");
    auto it = vars.variables().find(p.variable);
    std::string problem;
    if (it == vars.variables().end()) {
      problem = "no tensor '" + p.variable + "'";
    } else if (it->second.dtype != "float32") {
      problem = "tensor '" + p.variable + "' has dtype " + it->second.dtype + ", expected float32";
    } else {
      const auto want = tfhub_source_shape(p.transform, m->sizes().vec());
      auto have = it->second.shape;
      if (p.transform == TfHubTransform::kReshape) {
        int64_t n = 1;
        for (auto d : have) n *= d;
        have = {n};
      }
      if (have != want)
        problem = "tensor '" + p.variable + "' has shape " + shape_text(it->second.shape) + ", expected " +
                  shape_text(want) + " (for " + p.key + ")";
    }
    if (problem.empty()) continue;
    if (problems.empty()) file = it == vars.variables().end() ? vars.source() : vars.file_of(p.variable);
    problems.push_back(problem);
  }
  if (problems.empty()) return;
  std::string msg = problems.front();
  if (problems.size() > 1) msg += " (and " + std::to_string(problems.size() - 1) + " more: " + problems[1] + ", ...)";
  throw input_error(file, msg);
}

// Every BN's tables (truncation_means / _vars) and, as its stored statistics, the truncation-1 level.
void add_truncation_tables(const TfHubArchitecture& arch, const TruncationTables& tables, const StateDict& model,
                           StateDict& converted) {
  for (const auto& bn : tfhub_deep_bns(arch)) {
    auto it = tables.by_scope.find(bn.scope);
    if (it == tables.by_scope.end()) throw input_error(tables.source, "no BN statistics for '" + bn.scope + "'");
    const auto& [means, vars] = it->second;
    const auto want = model[bn.key + ".truncation_means"].sizes().vec();
    if (means.sizes().vec() != want || vars.sizes().vec() != want)
      throw input_error(tables.source, "the tables of '" + bn.scope + "' are " + shape_text(means.sizes().vec()) +
                                           ", the module's BN needs " + shape_text(want));
    converted.insert(bn.key + ".stored_mean", means[tables.levels - 1].clone());
    converted.insert(bn.key + ".stored_var", vars[tables.levels - 1].clone());
    converted.insert(bn.key + ".truncation_means", means);
    converted.insert(bn.key + ".truncation_vars", vars);
  }
}

}  // namespace

std::string describe_tfhub_architecture(const TfHubArchitecture& a) {
  return std::string(a.deep ? "biggan-deep-" : "biggan-") + std::to_string(a.resolution) + " module: G_ch " + std::to_string(a.G_ch) + ", dim_z " +
         std::to_string(a.dim_z) + ", shared_dim " + std::to_string(a.shared_dim) + ", " +
         std::to_string(a.n_classes) + " classes, attention at " + a.G_attn;
}

TfHubConversion convert_tfhub(const fs::path& input, const TfHubConvertOptions& options) {
  std::unique_ptr<TfVariables> vars;
  TruncationTables tables;
  if (is_hf_biggan_dir(input)) {
    auto hf = open_hf_biggan_deep(input);
    vars = std::move(hf.variables);
    tables = std::move(hf.tables);
  } else {
    vars = open_tf_variables(input);
  }
  TfHubConversion out;
  out.source = vars->source();
  const bool deep = is_tfhub_deep_module(*vars);
  out.arch = deep ? read_tfhub_deep_architecture(*vars) : read_tfhub_architecture(*vars);
  std::vector<std::string> scopes;
  if (deep)
    for (const auto& bn : tfhub_deep_bns(out.arch)) scopes.push_back(bn.scope);
  if (!options.bn_stats.empty()) {
    if (!deep) throw input_error(options.bn_stats.string(), "--bn-stats is for BigGAN-deep modules; " + out.source + " is a BigGAN (v2) one");
    tables = read_truncation_tables(options.bn_stats, scopes);
  } else if (deep && tables.empty() && fs::is_directory(input)) {
    tables = read_saved_model_tables(input / "saved_model.pb", scopes);
  }
  if (deep)
    out.bn_statistics = tables.empty() ? "the module's accumulated BN statistics (no tables: truncation 1 only)"
                                       : std::to_string(tables.levels) + "-level BN tables from " + tables.source;
  out.config = deep ? tfhub_deep_generator_config(out.arch, options.ema, tables.levels)
                    : tfhub_generator_config(out.arch, options.ema);
  out.config.validate_model(out.source + " (" + describe_tfhub_architecture(out.arch) + ")");

  auto G = make_generator(model_config(out.config));
  const StateDict model = state_dict(*G);
  const auto plan = deep ? tfhub_deep_tensors(out.arch, options.ema, tables.empty()) : tfhub_tensors(out.arch, options.ema);
  check_variables(*vars, plan, model);

  StateDict converted;
  ProgressMeter meter("tfhub-convert", static_cast<int64_t>(plan.size()), options.progress, "tensors");
  int64_t done = 0;
  for (const auto& p : plan) {
    const auto values = vars->read(p.variable);
    converted.insert(p.key, apply_tfhub_transform(p.transform, values, model[p.key].sizes().vec(), out.arch.z_chunk));
    meter.update(++done, p.variable);
  }
  meter.finish(done);
  if (deep && !tables.empty()) add_truncation_tables(out.arch, tables, model, converted);
  StateDictLoadOptions load;
  load.optional_key = [](const std::string& key) { return ends_with(key, ".sv0"); };  // logging only: stays 1
  load.into = "the Generator of " + describe_tfhub_architecture(out.arch);
  load_state_dict(*G, converted, out.source, load);
  out.G = state_dict(*G);
  return out;
}

void write_tfhub_weights(const fs::path& out, const TfHubConversion& c) {
  std::error_code ec;
  const bool created = !fs::exists(out, ec);
  WeightsFolderContents contents;
  contents.G = c.G;
  if (c.config.ema) contents.G_ema = c.G;
  TrainState state;
  state.config = c.config;
  contents.state = state;
  try {
    save_weights_folder(out, "", contents);
  } catch (...) {
    if (created) fs::remove(out, ec);  // only when empty: the save removed its staged files
    throw;
  }
}

TfHubConversion tfhub_convert(const fs::path& input, const fs::path& out, const TfHubConvertOptions& options) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) throw input_error(out.string(), "exists and is not a folder");
    if (!fs::is_empty(out, ec))
      throw input_error(out.string(), "exists and is not empty: give a new folder for the converted weights");
  }
  auto conversion = convert_tfhub(input, options);
  write_tfhub_weights(out, conversion);
  return conversion;
}

}  // namespace biggan
