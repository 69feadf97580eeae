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

LoadedGenerator load_generator(const GeneratorSource& src) {
  if (src.weights.empty()) throw Error("no weights given");
  const fs::path weights(src.weights);
  if (!fs::exists(weights)) throw input_error(src.weights, "no such weights folder or file");
  if (!src.which.empty() && src.which != "G" && src.which != "G_ema")
    throw Error("--which must be G or G_ema, not '" + src.which + "'");

  LoadedGenerator out;
  fs::path state_path;
  if (fs::is_directory(weights)) {
    const auto ema = weights / weights_file_name("G_ema", src.suffix);
    const bool has_ema = fs::exists(ema) || fs::exists(weights / staged_file_name("G_ema", src.suffix));
    out.which = !src.which.empty() ? src.which : (has_ema ? "G_ema" : "G");
    // Checked against the save's manifest: never a G from one save with the config of another.
    out.weights_file = verified_weights_file(weights, src.suffix, out.which).string();
    state_path = weights / weights_file_name("state_dict", src.suffix);
    if (fs::exists(weights / staged_file_name("state_dict", src.suffix)))
      state_path = verified_weights_file(weights, src.suffix, "state_dict");
  } else {
    out.weights_file = weights.string();
    out.which = src.which.empty() ? "G" : src.which;
    // G_copy0.pth -> state_dict_copy0.pth beside it.
    const std::string stem = weights.stem().string();
    std::string suffix = src.suffix;
    for (const char* prefix : {"G_ema_", "G_"})
      if (suffix.empty() && stem.rfind(prefix, 0) == 0) suffix = stem.substr(std::string(prefix).size());
    if (suffix == "ema") suffix.clear();
    state_path = weights.parent_path() / weights_file_name("state_dict", suffix);
  }

  // The config: the state's, then the JSON file over it, then the flags; then the architecture
  // the tensors show over what the stored configs say (config_from_tensors.h).
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

  auto sd = torchfile::load_state_dict(out.weights_file);
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
  out.config.validate_model("config of " + out.weights_file);

  out.G = make_generator(model_config(out.config));
  load_state_dict(*out.G, sd, out.weights_file);
  out.G->eval();
  return out;
}

}  // namespace biggan
