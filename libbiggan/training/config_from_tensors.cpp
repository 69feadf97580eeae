#include "libbiggan/training/config_from_tensors.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <algorithm>
#include <type_traits>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// A Config field by name from the same-named ModelConfig field (both tables use the reference's names).
template <typename T>
void copy_field(T& to, const ModelConfig& m, const std::string& name) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (name == "model") to = m.model;
    else if (name == "G_attn") to = m.G_attn;
    else if (name == "D_attn") to = m.D_attn;
    else if (name == "G_param") to = m.G_param;
    else if (name == "D_param") to = m.D_param;
    else if (name == "norm_style") to = m.norm_style;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (name == "G_shared") to = m.G_shared;
    else if (name == "hier") to = m.hier;
    else if (name == "D_wide") to = m.D_wide;
    else if (name == "cross_replica") to = m.cross_replica;
    else if (name == "mybn") to = m.mybn;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    const std::pair<const char*, int64_t> ints[] = {
        {"resolution", m.resolution}, {"n_classes", m.n_classes},   {"G_ch", m.G_ch},
        {"G_depth", m.G_depth},       {"dim_z", m.dim_z},           {"bottom_width", m.bottom_width},
        {"shared_dim", m.shared_dim}, {"num_G_SVs", m.num_G_SVs},   {"D_ch", m.D_ch},
        {"D_depth", m.D_depth},       {"output_dim", m.output_dim}, {"num_D_SVs", m.num_D_SVs}};
    for (const auto& [n, v] : ints)
      if (name == n) to = v;
  }
}

}  // namespace

void apply_architecture(Config& config, const ModelConfig& model, const std::vector<std::string>& fields) {
  config.for_each_field([&](const char* name, auto& field, const char*, const char*) {
    if (std::find(fields.begin(), fields.end(), name) != fields.end()) copy_field(field, model, name);
  });
}

ReconciledConfig reconcile_with_tensors(const Config& config, const ConfigKeys& keys, const StateDict* G,
                                        const StateDict* D, const std::string& source) {
  ReconciledConfig out;
  out.config = config;
  const ModelConfig stated = model_config(config);
  out.inference = infer_architecture(G, D, stated, source);
  std::vector<std::string> taken;
  for (const auto& f : out.inference.decided) {
    if (keys.explicit_.count(f)) continue;  // the command line's word stands; the load checks it
    taken.push_back(f);
    const std::string was = architecture_field_text(stated, f), is = architecture_field_text(out.inference.config, f);
    if (keys.stated.count(f) && was != is)
      out.warnings.push_back("config says " + f + " " + was + ", the tensors " + is + ": using " + is);
  }
  apply_architecture(out.config, out.inference.config, taken);
  for (const auto& a : out.inference.assumed) {
    const std::string key = a.substr(0, a.find(' '));
    if (!keys.stated.count(key) && !keys.explicit_.count(key)) out.assumptions.push_back(a);
  }
  return out;
}

std::set<std::string> config_keys(const c10::IValue& dict) {
  std::set<std::string> out;
  if (!dict.isGenericDict()) return out;
  for (const auto& e : dict.toGenericDict())
    if (e.key().isString()) out.insert(e.key().toStringRef());
  // The reference's train.py stores the activations as G_activation / D_activation.
  if (out.count("G_activation")) out.insert("G_nl");
  if (out.count("D_activation")) out.insert("D_nl");
  return out;
}

std::set<std::string> config_keys(const Json& object) {
  std::set<std::string> out;
  if (!object.is_object()) return out;
  for (const auto& [k, v] : object.items()) out.insert(k);
  // Constructor-style configs name the activations G_activation / D_activation.
  if (out.count("G_activation")) out.insert("G_nl");
  if (out.count("D_activation")) out.insert("D_nl");
  return out;
}

std::set<std::string> flag_keys(const std::vector<std::string>& flags) {
  std::set<std::string> out;
  Config names;
  for (const auto& a : flags) {
    if (a.rfind("--", 0) != 0) continue;
    const std::string key = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
    names.for_each_field([&](const char* name, const auto&, const char* flag, const char*) {
      if ((flag[0] ? std::string(flag) : std::string(name)) == key) out.insert(name);
    });
    if (key == "dataset") out.insert({"resolution", "n_classes"});
  }
  return out;
}

std::string architecture_summary(const ModelConfig& c) {
  std::string s = c.model + " " + std::to_string(c.resolution) + "x" + std::to_string(c.resolution) + ", " +
                  std::to_string(c.n_classes) + " classes";
  for (const auto& f : architecture_fields())
    if (f != "model" && f != "resolution" && f != "n_classes") s += ", " + f + " " + architecture_field_text(c, f);
  return s;
}

}  // namespace biggan
