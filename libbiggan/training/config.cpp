#include "libbiggan/training/config.h"

#include "libbiggan/training/diff_augment.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <type_traits>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

std::string type_name(const Json& j) {
  switch (j.type()) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "a bool";
    case Json::Type::Int: return "an integer";
    case Json::Type::Double: return "a float";
    case Json::Type::String: return "a string";
    case Json::Type::Array: return "an array";
    case Json::Type::Object: return "an object";
  }
  return "?";
}

Error wrong_type(const std::string& source, const std::string& key, const std::string& want,
                 const std::string& got) {
  return input_error(source, "config key '" + key + "' must be " + want + ", got " + got);
}

// JSON -> field, one overload per field type.
void set_field(bool& f, const Json& j, const std::string& src, const std::string& key) {
  if (!j.is_bool()) throw wrong_type(src, key, "a bool", type_name(j));
  f = j.as_bool();
}
void set_field(int64_t& f, const Json& j, const std::string& src, const std::string& key) {
  if (j.is_int()) {
    f = j.as_int();
  } else if (j.is_number() && std::floor(j.as_double()) == j.as_double()) {
    f = static_cast<int64_t>(j.as_double());
  } else {
    throw wrong_type(src, key, "an integer", type_name(j));
  }
}
void set_field(double& f, const Json& j, const std::string& src, const std::string& key) {
  if (!j.is_number()) throw wrong_type(src, key, "a number", type_name(j));
  f = j.as_double();
}
void set_field(std::string& f, const Json& j, const std::string& src, const std::string& key) {
  if (!j.is_string()) throw wrong_type(src, key, "a string", type_name(j));
  f = j.as_string();
}

std::string ivalue_type_name(const c10::IValue& v) { return v.tagKind(); }

// IValue -> field.
void set_field(bool& f, const c10::IValue& v, const std::string& src, const std::string& key) {
  if (!v.isBool()) throw wrong_type(src, key, "a bool", ivalue_type_name(v));
  f = v.toBool();
}
void set_field(int64_t& f, const c10::IValue& v, const std::string& src, const std::string& key) {
  if (!v.isInt()) throw wrong_type(src, key, "an integer", ivalue_type_name(v));
  f = v.toInt();
}
void set_field(double& f, const c10::IValue& v, const std::string& src, const std::string& key) {
  if (v.isDouble()) {
    f = v.toDouble();
  } else if (v.isInt()) {
    f = static_cast<double>(v.toInt());
  } else {
    throw wrong_type(src, key, "a number", ivalue_type_name(v));
  }
}
void set_field(std::string& f, const c10::IValue& v, const std::string& src,
               const std::string& key) {
  if (!v.isString()) throw wrong_type(src, key, "a string", ivalue_type_name(v));
  f = v.toStringRef();
}

// Command-line value -> field (argparse's int() / float() / str).
void set_from_text(int64_t& f, const std::string& text, const std::string& src,
                   const std::string& key) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0)
    throw input_error(src, "--" + key + ": invalid int value '" + text + "'");
  f = v;
}
void set_from_text(double& f, const std::string& text, const std::string& src,
                   const std::string& key) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    throw input_error(src, "--" + key + ": invalid float value '" + text + "'");
  f = v;
}
void set_from_text(std::string& f, const std::string& text, const std::string&,
                   const std::string&) {
  f = text;
}

std::string number_text(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// Fields that are not the reference's (TF-Hub BigGAN-deep options): written only when set, so
// that every other config (and its state_dict.pth) keeps exactly the reference's keys.
template <typename T>
bool omitted_from_output(const char* name, const T& value) {
  static const Config defaults;
  const std::string n = name;
  if constexpr (std::is_same_v<T, int64_t>) {
    if (n == "G_output_channels") return value == defaults.G_output_channels;
    if (n == "G_BN_levels") return value == defaults.G_BN_levels;
  } else if constexpr (std::is_same_v<T, double>) {
    if (n == "G_output_BN_eps") return value == defaults.G_output_BN_eps;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (n == "tfhub_module") return value.empty();
  }
  return false;
}

}  // namespace

void Config::update_from_json(const Json& j, const std::string& source) {
  if (!j.is_object()) throw input_error(source, "config must be a JSON object");
  for_each_field([&](const char* name, auto& field, const char*, const char*) {
    if (const Json* v = j.find(name)) set_field(field, *v, source, name);
  });
  // Constructor-argument style configs (the fixtures' config.json) name the activations
  // G_activation / D_activation; as strings they mean the same as G_nl / D_nl.
  for (const auto& [alias, field] : {std::pair<const char*, std::string*>{"G_activation", &G_nl},
                                     {"D_activation", &D_nl}}) {
    const Json* v = j.find(alias);
    const std::string nl_key = alias[0] == 'G' ? "G_nl" : "D_nl";
    if (v && v->is_string() && !j.contains(nl_key)) *field = v->as_string();
  }
}

Config Config::from_json(const Json& j, const std::string& source) {
  Config c;
  c.update_from_json(j, source);
  return c;
}

Json Config::to_json() const {
  Json j = Json::object();
  for_each_field([&](const char* name, const auto& field, const char*, const char*) {
    if (!omitted_from_output(name, field)) j.set(name, Json(field));
  });
  return j;
}

void Config::update_from_ivalue(const c10::IValue& dict, const std::string& source) {
  if (!dict.isGenericDict()) throw input_error(source, "config is not a dict");
  std::map<std::string, c10::IValue> entries;
  for (const auto& e : dict.toGenericDict()) {
    if (e.key().isString()) entries.emplace(e.key().toStringRef(), e.value());
  }
  for_each_field([&](const char* name, auto& field, const char*, const char*) {
    auto it = entries.find(name);
    if (it != entries.end()) set_field(field, it->second, source, name);
  });
}

Config Config::from_ivalue(const c10::IValue& dict, const std::string& source) {
  Config c;
  c.update_from_ivalue(dict, source);
  return c;
}

c10::IValue Config::to_ivalue() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  for_each_field([&](const char* name, const auto& field, const char*, const char*) {
    if (!omitted_from_output(name, field)) d.insert(std::string(name), c10::IValue(field));
  });
  return c10::IValue(d);
}

void Config::apply_reference_flags(const std::vector<std::string>& args,
                                   const std::string& source) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) != 0) throw input_error(source, "unexpected argument '" + arg + "'");
    std::string key = arg.substr(2), value;
    bool has_inline_value = false;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_inline_value = true;
    }
    bool found = false;
    for_each_field([&](const char* name, auto& field, const char* flag, const char*) {
      using T = std::decay_t<decltype(field)>;
      std::string flag_name = flag[0] ? flag : name;
      if (found || flag_name == "-" || flag_name != key) return;
      found = true;
      if constexpr (std::is_same_v<T, bool>) {
        if (has_inline_value)
          throw input_error(source, "--" + key + ": ignored explicit argument '" + value + "'");
        // store_true / store_false: the flag selects the non-default value; toggle_grads's
        // flag is store_true with default true.
        Config defaults;
        bool def = false;
        defaults.for_each_field([&](const char* n2, const auto& f2, const char*, const char*) {
          if constexpr (std::is_same_v<std::decay_t<decltype(f2)>, bool>)
            if (std::string(n2) == name) def = f2;
        });
        field = std::string(name) == "toggle_grads" ? true : !def;
      } else {
        if (!has_inline_value) {
          if (i + 1 >= args.size())
            throw input_error(source, "--" + key + ": expected one argument");
          value = args[++i];
        }
        set_from_text(field, value, source, key);
      }
    });
    if (!found) throw input_error(source, "unrecognized argument '--" + key + "'");
  }
}

void Config::derive_from_dataset() {
  const int64_t res = dataset_resolution(dataset);
  const int64_t nc = dataset_n_classes(dataset);
  if (res < 0 || nc < 0) throw Error("config: unknown dataset '" + dataset + "'");
  resolution = res;
  n_classes = nc;
  if (resume) skip_init = true;
}

void Config::update_roots() {
  if (base_root.empty()) return;
  data_root = base_root + "/data";
  weights_root = base_root + "/weights";
  logs_root = base_root + "/logs";
  samples_root = base_root + "/samples";
}

ModelConfig model_config(const Config& c) {
  ModelConfig m;
  m.model = c.model;
  m.resolution = c.resolution;
  m.n_classes = c.n_classes;
  m.G_ch = c.G_ch;
  m.G_depth = c.G_depth;
  m.G_attn = c.G_attn;
  m.dim_z = c.dim_z;
  m.bottom_width = c.bottom_width;
  m.G_shared = c.G_shared;
  m.shared_dim = c.shared_dim;
  m.hier = c.hier;
  m.G_nl = c.G_nl;
  m.G_param = c.G_param;
  m.num_G_SVs = c.num_G_SVs;
  m.num_G_SV_itrs = c.num_G_SV_itrs;
  m.G_init = c.G_init;
  m.D_ch = c.D_ch;
  m.D_depth = c.D_depth;
  m.D_attn = c.D_attn;
  m.D_wide = c.D_wide;
  m.output_dim = c.output_dim;
  m.D_nl = c.D_nl;
  m.D_param = c.D_param;
  m.num_D_SVs = c.num_D_SVs;
  m.num_D_SV_itrs = c.num_D_SV_itrs;
  m.D_init = c.D_init;
  m.norm_style = c.norm_style;
  m.cross_replica = c.cross_replica;
  m.mybn = c.mybn;
  m.BN_eps = c.BN_eps;
  m.SN_eps = c.SN_eps;
  m.skip_init = c.skip_init;
  m.channels_last = c.channels_last;
  m.fold_resample = c.fold_resample;
  m.G_output_channels = c.G_output_channels;
  m.G_output_BN_eps = c.G_output_BN_eps;
  m.G_BN_levels = c.G_BN_levels;
  return m;
}

void Config::validate_model(const std::string& source) const {
  model_config(*this).validate(source);
  // z_var is no model setting, but every sample is drawn with it.
  if (!std::isfinite(z_var) || z_var <= 0)
    throw input_error(source, "z_var must be a positive finite number, got " + number_text(z_var));
}

void Config::validate_training(const std::string& source) const {
  validate_model(source);
  // Every float setting must be a number: a NaN learning rate trains NaNs without a word.
  for_each_field([&](const char* name, const auto& v, const char*, const char*) {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, double>)
      if (!std::isfinite(v)) throw input_error(source, "--" + std::string(name) + " must be a finite number, got " + number_text(v));
  });
  auto at_least = [&](const char* name, int64_t v, int64_t lo) {
    if (v < lo) throw input_error(source, "--" + std::string(name) + " must be at least " + std::to_string(lo) +
                                              ", got " + std::to_string(v));
  };
  try {
    parse_diff_augment_policy(DiffAugment);
  } catch (const Error& e) {
    throw input_error(source, e.what());
  }
  at_least("batch_size", batch_size, 1);
  at_least("G_batch_size", G_batch_size, 0);
  at_least("num_G_accumulations", num_G_accumulations, 1);
  at_least("num_D_steps", num_D_steps, 1);
  at_least("num_D_accumulations", num_D_accumulations, 1);
  at_least("num_epochs", num_epochs, 0);
  at_least("save_every", save_every, 0);  // 0: never (the reference would divide by zero)
  at_least("test_every", test_every, 0);
  at_least("num_save_copies", num_save_copies, 0);
  at_least("num_best_copies", num_best_copies, 0);
  at_least("num_inception_images", num_inception_images, 1);
  at_least("num_standing_accumulations", num_standing_accumulations, 1);
  at_least("ema_start", ema_start, 0);
  at_least("sv_log_interval", sv_log_interval, 0);  // 0: off, as the reference
  at_least("seed", seed, 0);
  const std::pair<const char*, double> rates[] = {{"G_lr", G_lr}, {"D_lr", D_lr}, {"adam_eps", adam_eps}};
  for (const auto& [name, v] : rates)
    if (v <= 0) throw input_error(source, "--" + std::string(name) + " must be positive, got " + number_text(v));
  const std::pair<const char*, double> betas[] = {{"G_B1", G_B1}, {"D_B1", D_B1}, {"G_B2", G_B2}, {"D_B2", D_B2}};
  for (const auto& [name, v] : betas)  // torch.optim.Adam's own check
    if (v < 0 || v >= 1) throw input_error(source, "--" + std::string(name) + " must lie in [0, 1), got " + number_text(v));
  if (ema_decay < 0 || ema_decay > 1)
    throw input_error(source, "--ema_decay must lie in [0, 1], got " + number_text(ema_decay));
  if (G_ortho < 0 || D_ortho < 0) throw input_error(source, "--G_ortho and --D_ortho must be >= 0");
  if (which_best != "IS" && which_best != "FID")
    throw input_error(source, "--which_best must be IS or FID, got '" + which_best + "'");
  if (which_train_fn != "GAN")
    throw input_error(source, "--which_train_fn " + which_train_fn + ": only GAN (the reference's training function) exists");
  validate_logstyle(logstyle, source);
}

void validate_logstyle(const std::string& style, const std::string& source) {
  // Exactly one printf float conversion: %[flags][width][.precision](e|E|f|F|g|G), nothing after
  // another '%' (a second conversion would read an argument that is not there).
  static const std::regex kOneFloat(R"(%[-+ #0]*[0-9]{0,3}(\.[0-9]{1,3})?[eEfFgG])");
  if (!std::regex_match(style, kOneFloat))
    throw input_error(source, "--logstyle '" + style + "': expected one printf float format like %3.3e");
}

int64_t dataset_resolution(const std::string& d) {
  static const std::map<std::string, int64_t> m = {
      {"I32", 32},   {"I32_hdf5", 32},   {"I64", 64},   {"I64_hdf5", 64}, {"I128", 128},
      {"I128_hdf5", 128}, {"I256", 256}, {"I256_hdf5", 256}, {"C10", 32}, {"C100", 32}};
  auto it = m.find(d);
  return it == m.end() ? -1 : it->second;
}

int64_t dataset_n_classes(const std::string& d) {
  static const std::map<std::string, int64_t> m = {
      {"I32", 1000},  {"I32_hdf5", 1000},  {"I64", 1000},  {"I64_hdf5", 1000}, {"I128", 1000},
      {"I128_hdf5", 1000}, {"I256", 1000}, {"I256_hdf5", 1000}, {"C10", 10}, {"C100", 100}};
  auto it = m.find(d);
  return it == m.end() ? -1 : it->second;
}

std::vector<std::string> split_flags(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string w;
  while (ss >> w) out.push_back(w);
  return out;
}

std::vector<std::string> parse_flags_file_text(const std::string& text) {
  std::string kept;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto hash = line.find('#');
    kept += (hash == std::string::npos ? line : line.substr(0, hash)) + "\n";
  }
  return split_flags(kept);
}

}  // namespace biggan
