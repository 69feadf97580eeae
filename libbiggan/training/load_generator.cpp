#include "libbiggan/training/load_generator.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <filesystem>
#include <iostream>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config_from_tensors.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"

namespace biggan {

namespace fs = std::filesystem;

namespace {

// Which G file to read (the folder's G_ema when it has one, as the reference's use_ema) and where
// its state_dict.pth is; fills out.which and out.weights_file, returns the state's path.
fs::path locate_weights(const GeneratorSource& src, LoadedGenerator& out) {
  const fs::path weights(src.weights);
  if (fs::is_directory(weights)) {
    const auto ema = weights / weights_file_name("G_ema", src.suffix);
    const bool has_ema = fs::exists(ema) || fs::exists(weights / staged_file_name("G_ema", src.suffix));
    out.which = !src.which.empty() ? src.which : (has_ema ? "G_ema" : "G");
    // Checked against the save's manifest: never a G from one save with the config of another.
    out.weights_file = verified_weights_file(weights, src.suffix, out.which).string();
    fs::path state_path = weights / weights_file_name("state_dict", src.suffix);
    if (fs::exists(weights / staged_file_name("state_dict", src.suffix)))
      state_path = verified_weights_file(weights, src.suffix, "state_dict");
    return state_path;
  }
  out.weights_file = weights.string();
  out.which = src.which.empty() ? "G" : src.which;
  // G_copy0.pth -> state_dict_copy0.pth beside it.
  const std::string stem = weights.stem().string();
  std::string suffix = src.suffix;
  for (const char* prefix : {"G_ema_", "G_"})
    if (suffix.empty() && stem.rfind(prefix, 0) == 0) suffix = stem.substr(std::string(prefix).size());
  if (suffix == "ema") suffix.clear();
  return weights.parent_path() / weights_file_name("state_dict", suffix);
}

// The config as stated: the state's, then the JSON file over it, then the flags. Returns which
// keys were stated and which typed (config_from_tensors.h weighs them against the tensors).
ConfigKeys stated_config(const GeneratorSource& src, const fs::path& state_path, LoadedGenerator& out) {
  ConfigKeys keys;
  if (fs::exists(state_path)) {
    const c10::IValue state = torchfile::load(state_path.string());
    out.state = TrainState::from_ivalue(state, state_path.string());
    out.config = out.state->config;
    if (state.isGenericDict()) {
      auto dict = state.toGenericDict();
      auto cfg = dict.find("config");
      if (cfg != dict.end()) keys.stated = config_keys(cfg->value());
    }
  }
  if (!src.config_json.empty()) {
    const Json j = Json::parse_file(src.config_json);
    out.config.update_from_json(j, src.config_json);
    for (const auto& k : config_keys(j)) keys.stated.insert(k);
  }
  if (!src.flags.empty()) {
    out.config.apply_reference_flags(src.flags, "--flags");
    // A data set given by flag decides resolution and class count as in sample.py.
    for (const auto& f : src.flags)
      if (f == "--dataset") out.config.derive_from_dataset();
    keys.explicit_ = flag_keys(src.flags);
  }
  out.config.skip_init = true;
  out.config.no_optim = true;
  return keys;
}

// The architecture the tensors show over what the stated config says, with one warning line per
// difference and one note listing what was assumed.
void reconcile_config(const ConfigKeys& keys, const torchfile::StateDict& sd, const fs::path& state_path,
                      LoadedGenerator& out) {
  const bool no_config = keys.stated.empty() && keys.explicit_.empty();
  ReconciledConfig r;
  try {
    r = reconcile_with_tensors(out.config, keys, &sd, nullptr, out.weights_file);
  } catch (const Error& e) {
    if (no_config)
      throw input_error(out.weights_file, "no config (no " + state_path.filename().string() +
                                              " beside it) and the architecture cannot be read off the tensors (" +
                                              e.what() + "); give --config-json FILE or --flags \"...\"");
    // Tensors the rules do not know: the config as given, and the load below judges it.
    r.config = out.config;
    std::cerr << "note: " << out.weights_file << ": architecture not read off the tensors: " << e.what() << "\n";
  }
  out.config = r.config;
  out.warnings = r.warnings;
  for (const auto& w : r.warnings) std::cerr << "warning: " << out.weights_file << ": " << w << "\n";
  if (!r.assumptions.empty()) {
    std::string line;
    for (const auto& a : r.assumptions) line += (line.empty() ? "" : ", ") + a;
    std::cerr << "note: " << out.weights_file << ": " << (no_config ? "no config: architecture from the tensors; " : "")
              << "assuming the reference's " << line << "\n";
  }
}

}  // namespace

LoadedGenerator load_generator(const GeneratorSource& src) {
  if (src.weights.empty()) throw Error("no weights given");
  if (!fs::exists(fs::path(src.weights))) throw input_error(src.weights, "no such weights folder or file");
  if (!src.which.empty() && src.which != "G" && src.which != "G_ema")
    throw Error("--which must be G or G_ema, not '" + src.which + "'");

  LoadedGenerator out;
  const fs::path state_path = locate_weights(src, out);
  const ConfigKeys keys = stated_config(src, state_path, out);
  auto sd = torchfile::load_state_dict(out.weights_file);
  reconcile_config(keys, sd, state_path, out);
  out.config.validate_model("config of " + out.weights_file);

  out.G = make_generator(model_config(out.config));
  load_state_dict(*out.G, sd, out.weights_file);
  out.G->eval();
  return out;
}

}  // namespace biggan
