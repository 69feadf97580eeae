#include "libbiggan/training/hf_biggan_deep.h"

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <utility>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/tfhub_deep_mapping.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"

namespace biggan {
namespace fs = std::filesystem;
namespace {

const std::string kEma = kTfHubDeepEmaSuffix;

class HfVariables : public TfVariables {
 public:
  explicit HfVariables(std::string file) : file_(std::move(file)) {}
  void add(const std::string& name, torch::Tensor t) {
    t = t.to(torch::kFloat32).contiguous();
    info_[name] = Info{"float32", t.sizes().vec()};
    values_[name] = t;
  }
  const std::map<std::string, Info>& variables() const override { return info_; }
  torch::Tensor read(const std::string& name) const override {
    auto it = values_.find(name);
    if (it == values_.end()) throw input_error(file_, "no tensor '" + name + "'");
    return it->second;
  }
  std::string file_of(const std::string&) const override { return file_; }
  std::string source() const override { return file_; }

 private:
  std::string file_;
  std::map<std::string, Info> info_;
  std::map<std::string, torch::Tensor> values_;
};

// A u whose one power iteration gives HF's v: least squares of W^T u = v, in float64, unit norm.
torch::Tensor u_for(const torch::Tensor& weight, const torch::Tensor& v) {
  const auto W = weight.to(torch::kFloat64).reshape({weight.size(0), -1});
  auto u = std::get<0>(torch::linalg_lstsq(W.t(), v.to(torch::kFloat64).reshape({-1, 1}))).reshape({1, -1});
  return (u / u.norm()).to(torch::kFloat32);
}

// TF's layout of an HF tensor: 2-D transposed back, 4-D OIHW -> HWIO.
torch::Tensor to_tf(const torch::Tensor& t) {
  if (t.dim() == 2) return t.t();
  if (t.dim() == 4) return t.permute({2, 3, 1, 0});
  return t;
}

}  // namespace

bool is_hf_biggan_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::exists(dir / "pytorch_model.bin", ec) && fs::exists(dir / "config.json", ec);
}

HfBigGANDeep open_hf_biggan_deep(const fs::path& dir) {
  const std::string bin = (dir / "pytorch_model.bin").string(), cfg_file = (dir / "config.json").string();
  const Json cfg = Json::parse_file(cfg_file);
  const Json* pos_json = cfg.is_object() ? cfg.find("attention_layer_position") : nullptr;
  if (!pos_json || !pos_json->is_int())
    throw input_error(cfg_file, "no integer 'attention_layer_position': not pytorch-pretrained-BigGAN's config");
  const int64_t attention = pos_json->as_int();
  const auto sd = torchfile::load_state_dict(bin);
  auto vars = std::make_unique<HfVariables>(bin);
  HfBigGANDeep out;
  out.tables.source = bin;
  // One SN layer: HF prefix -> TF scope (weight, optional bias, u0 from weight_u/v).
  auto sn = [&](const std::string& hf, const std::string& tf, const std::string& weight_name) {
    const auto* w = sd.find(hf + ".weight_orig");
    const auto* v = sd.find(hf + ".weight_v");
    if (!w || !v) throw input_error(bin, "no tensor '" + hf + ".weight_orig' / '.weight_v': not a BigGAN-deep state dict");
    vars->add(tf + weight_name + kEma, to_tf(*w));
    if (const auto* b = sd.find(hf + ".bias")) vars->add(tf + "/b" + kEma, *b);
    vars->add(tf + "/u0", u_for(*w, *v));
  };
  auto tables = [&](const std::string& hf, const std::string& scope) {
    const auto* m = sd.find(hf + ".running_means");
    const auto* s = sd.find(hf + ".running_vars");
    if (!m || !s) throw input_error(bin, "no tensor '" + hf + ".running_means' / '.running_vars'");
    if (m->dim() != 2 || s->sizes() != m->sizes() || (out.tables.levels && m->size(0) != out.tables.levels))
      throw input_error(bin, "tensor '" + hf + ".running_means' is not [levels, C] like the others");
    out.tables.levels = m->size(0);
    out.tables.by_scope[scope] = {m->to(torch::kFloat32).contiguous(), s->to(torch::kFloat32).contiguous()};
  };
  const auto* emb = sd.find("embeddings.weight");
  if (!emb) throw input_error(bin, "no tensor 'embeddings.weight': not a pytorch-pretrained-BigGAN state dict");
  vars->add("linear/w" + kEma, to_tf(*emb));
  sn("generator.gen_z", "Generator/GenZ/G_linear", "/w");
  const std::regex layer_key(R"(generator\.layers\.([0-9]+)\.conv_0\.weight_orig)");
  int64_t layers = 0;
  for (const auto& item : sd) {
    std::smatch m;
    if (std::regex_match(item.key(), m, layer_key)) layers = std::max<int64_t>(layers, std::stoll(m[1]) + 1);
  }
  const int64_t blocks = layers > attention ? layers - 1 : layers;
  for (int64_t i = 0; i < blocks; ++i) {
    const std::string hf = "generator.layers." + std::to_string(i + (i >= attention ? 1 : 0)) + ".";
    const std::string tf = i == 0 ? "Generator/GBlock" : "Generator/GBlock_" + std::to_string(i);
    for (int k = 0; k < 4; ++k) {
      const std::string hbn = hf + "bn_" + std::to_string(k), tbn = tf + (k ? "/BatchNorm_" + std::to_string(k) : "/BatchNorm");
      sn(hbn + ".scale", tbn + "/scale", "/w");
      sn(hbn + ".offset", tbn + "/offset", "/w");
      tables(hbn, tbn);
      sn(hf + "conv_" + std::to_string(k), tf + "/conv" + std::to_string(k), "/w");
    }
  }
  const std::string att = "generator.layers." + std::to_string(attention) + ".";
  for (const char* conv : {"theta", "phi", "g", "o_conv"})
    sn(att + "snconv1x1_" + conv, std::string("Generator/attention/") + conv, "/w");
  const auto* gamma = sd.find(att + "gamma");
  if (!gamma) throw input_error(bin, "no tensor '" + att + "gamma'");
  vars->add("Generator/attention/gamma" + kEma, *gamma);
  for (const auto& [hf, tf] : {std::pair<const char*, const char*>{"generator.bn.weight", "Generator/BatchNorm/scale"},
                               {"generator.bn.bias", "Generator/BatchNorm/offset"}}) {
    const auto* t = sd.find(hf);
    if (!t) throw input_error(bin, std::string("no tensor '") + hf + "'");
    vars->add(tf + kEma, *t);
  }
  tables("generator.bn", "Generator/BatchNorm");
  sn("generator.conv_to_rgb", "Generator/conv_to_rgb", "/w");
  out.variables = std::move(vars);
  return out;
}

}  // namespace biggan
