#include "libbiggan/training/checkpoint_report.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <filesystem>
#include <optional>
#include <sstream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config_from_tensors.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

namespace fs = std::filesystem;

// A .pth as a state dict, or nothing when it is none (optimiser state, training state, ...).
std::optional<StateDict> try_state_dict(const fs::path& p) {
  if (!fs::exists(p)) return std::nullopt;
  try {
    return torchfile::load_state_dict(p.string());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool looks_like_G(const StateDict& sd) { return sd.find("output_layer.2.weight") != nullptr; }
bool looks_like_D(const StateDict& sd) { return sd.find("embed.weight") != nullptr; }

Json string_array(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(Json(s));
  return a;
}

// The architecture of the G / D found at `path` (a folder's G_ema / G and D, or one file).
std::optional<Json> architecture_report(const std::string& path) {
  std::optional<StateDict> G, D;
  Config config;
  ConfigKeys keys;
  if (fs::is_directory(path)) {
    G = try_state_dict(fs::path(path) / "G.pth");
    if (!G) G = try_state_dict(fs::path(path) / "G_ema.pth");
    D = try_state_dict(fs::path(path) / "D.pth");
    const fs::path state = fs::path(path) / "state_dict.pth";
    if (fs::exists(state)) {
      const c10::IValue v = torchfile::load(state.string());
      if (v.isGenericDict()) {
        auto dict = v.toGenericDict();
        auto cfg = dict.find("config");
        if (cfg != dict.end()) {
          config = Config::from_ivalue(cfg->value(), state.string());
          keys.stated = config_keys(cfg->value());
        }
      }
    }
  } else {
    auto sd = try_state_dict(path);
    if (sd && looks_like_G(*sd)) G = sd;
    else if (sd && looks_like_D(*sd)) D = sd;
  }
  if (G && !looks_like_G(*G)) G.reset();
  if (D && !looks_like_D(*D)) D.reset();
  if (!G && !D) return std::nullopt;
  Json j = Json::object();
  try {
    const auto r = reconcile_with_tensors(config, keys, G ? &*G : nullptr, D ? &*D : nullptr, path);
    const ModelConfig m = model_config(r.config);
    j.set("from", Json(std::string(G && D ? "G and D" : G ? "G" : "D") + " tensors"));
    Json fields = Json::object();
    for (const auto& f : r.inference.decided) fields.set(f, Json(architecture_field_text(m, f)));
    j.set("config", fields);
    j.set("summary", Json(architecture_summary(m)));
    j.set("differences", string_array(r.warnings));
    j.set("assumed", string_array(r.inference.assumed));
    const std::string mismatch = architecture_mismatch(m, G ? &*G : nullptr, D ? &*D : nullptr);
    j.set("fits", Json(mismatch.empty()));
    if (!mismatch.empty()) j.set("mismatch", Json(mismatch));
  } catch (const Error& e) {
    j.set("error", Json(std::string(e.what())));
  }
  return j;
}

}  // namespace

Json inspect_checkpoint(const std::string& path, const InspectOptions& options) {
  Json report = inspect_path(path, options);
  try {
    if (auto arch = architecture_report(path)) report.set("architecture", *arch);
  } catch (const std::exception& e) {  // e.g. a state_dict.pth config of the wrong types: reported above
    report.set("architecture", Json::object().set("error", Json(std::string(e.what()))));
  }
  return report;
}

std::string format_checkpoint_report(const Json& report) {
  std::ostringstream out;
  out << format_inspection(report);
  if (!report.contains("architecture")) return out.str();
  const Json& a = report["architecture"];
  if (a.contains("error")) {
    out << "architecture: cannot be read off the tensors: " << a["error"].as_string() << "\n";
    return out.str();
  }
  out << "architecture (from the " << a["from"].as_string() << "): " << a["summary"].as_string() << "\n";
  for (const auto& d : a["differences"].as_array()) out << "  stored config disagrees: " << d.as_string() << "\n";
  std::string assumed;
  for (const auto& s : a["assumed"].as_array()) assumed += (assumed.empty() ? "" : ", ") + s.as_string();
  out << "  not in the tensors (the stored config's, else the reference's defaults): " << assumed << "\n";
  out << "  check: " << (a["fits"].as_bool() ? "models of this architecture take every tensor"
                                             : "MISMATCH: " + a["mismatch"].as_string())
      << "\n";
  return out.str();
}

}  // namespace biggan
