// Reading the architecture off a state dict. The key layout it relies on is the one biggan.cpp and
// biggan_deep.cpp build (the reference's): G's `linear`, `shared`, `blocks.<i>.<j>.*`,
// `output_layer.{0,2}`; D's `blocks.<i>.<j>.*`, `linear`, `embed` (and `input_conv` for deep).
#include "libbiggan/models/architecture_inference.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "libbiggan/models/biggan.h"
#include "libbiggan/models/model.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// A state dict's keys and shapes, with the few questions the rules ask of them.
class Tensors {
 public:
  Tensors(const StateDict& sd, std::string what, std::string source)
      : sd_(sd), what_(std::move(what)), source_(std::move(source)) {}
  bool has(const std::string& key) const { return sd_.find(key) != nullptr; }
  int64_t size(const std::string& key, int64_t dim) const {
    const torch::Tensor* t = sd_.find(key);
    if (!t) throw input_error(source_, "not a BigGAN " + what_ + " state dict: no '" + key + "'");
    if (t->dim() <= dim) throw input_error(source_, "'" + key + "' has too few dimensions for a BigGAN " + what_);
    return t->size(dim);
  }
  // How many consecutive blocks.<i> there are.
  int64_t count_blocks(const std::string& prefix = "blocks.") const {
    std::set<int64_t> seen;
    for (const auto& kv : sd_) {
      const std::string& k = kv.key();
      if (k.rfind(prefix, 0) != 0) continue;
      const auto dot = k.find('.', prefix.size());
      const std::string index = k.substr(prefix.size(), dot - prefix.size());
      if (!index.empty() && std::all_of(index.begin(), index.end(), ::isdigit)) seen.insert(std::stoll(index));
    }
    int64_t n = 0;
    while (seen.count(n)) ++n;
    return n;
  }
  // How many SVs a layer tracks: its u0, u1, ... buffers (0: a plain layer).
  int64_t count_svs(const std::string& layer) const {
    int64_t n = 0;
    while (has(layer + ".u" + std::to_string(n))) ++n;
    return n;
  }
  Error error(const std::string& message) const { return input_error(source_, what_ + " tensors: " + message); }

 private:
  const StateDict& sd_;
  std::string what_, source_;
};

// resolution -> number of stages, per table (biggan.cpp / biggan_deep.cpp).
int64_t resolution_with_stages(const std::map<int64_t, int64_t>& stages_by_res, int64_t stages) {
  for (const auto& [res, n] : stages_by_res)
    if (n == stages) return res;
  return -1;
}

// The attention spec for the stages that have attention; `base_spec` when it means the same.
std::string attention_spec(const Arch& arch, const std::vector<bool>& on, const std::string& base_spec) {
  std::set<int64_t> wanted;
  for (size_t i = 0; i < on.size(); ++i)
    if (on[i]) wanted.insert(arch.resolution[i]);
  bool same = true;
  try {
    const auto base = parse_attention(base_spec);
    for (size_t i = 0; i < on.size(); ++i)
      same = same && on[i] == (std::find(base.begin(), base.end(), arch.resolution[i]) != base.end());
  } catch (const Error&) {
    same = false;
  }
  if (same) return base_spec;
  std::string spec;
  for (int64_t r : wanted) spec += (spec.empty() ? "" : "_") + std::to_string(r);
  return spec.empty() ? "0" : spec;
}

// The last multiplier of the G tables, BigGAN's and BigGAN-deep's alike: G's output channels are
// G_ch times it.
int64_t g_last_multiple(int64_t res) { return res == 32 ? 4 : res == 64 ? 2 : 1; }

// The BN flavour of a ccbn / bn at `prefix` (myBN, cross-replica, stored statistics or none).
void infer_bn_flavour(const Tensors& g, const std::string& prefix, ModelConfig& c) {
  if (g.has(prefix + ".bn.running_mean")) {
    c.cross_replica = true;
  } else if (g.has(prefix + ".bn.accumulation_counter")) {
    c.cross_replica = false;
    c.mybn = true;
  } else {
    c.cross_replica = false;
    c.mybn = false;
    const bool stored = g.has(prefix + ".stored_mean");
    const bool base_stores = c.norm_style == "bn" || c.norm_style == "in";
    if (stored != base_stores) c.norm_style = stored ? "bn" : "nonorm";
  }
}

// G_depth and resolution of a BigGAN-deep G: the table whose per-block input channels fit.
void infer_deep_G_stages(const Tensors& g, int64_t blocks, int64_t ch_last, ModelConfig& c) {
  for (int64_t res : {32, 64, 128, 256}) {
    if (ch_last % g_last_multiple(res)) continue;
    const Arch arch = biggan_deep_G_arch(ch_last / g_last_multiple(res), "0", res);
    const auto stages = static_cast<int64_t>(arch.in_channels.size());
    if (blocks % stages) continue;
    const int64_t depth = blocks / stages;
    bool fits = true;
    for (int64_t k = 0; k < blocks && fits; ++k)
      fits = g.size("blocks." + std::to_string(k) + ".0.conv1.weight", 1) == arch.in_channels[k / depth];
    if (!fits) continue;
    c.resolution = res;
    c.G_depth = depth;
    c.G_ch = ch_last / g_last_multiple(res);
    return;
  }
  throw g.error(std::to_string(blocks) + " blocks fit no BigGAN-deep table");
}

void infer_G(const Tensors& g, ModelConfig& c, std::vector<std::string>& decided) {
  const bool deep = g.has("blocks.0.0.conv3.weight");
  c.model = deep ? "BigGANdeep" : "BigGAN";
  const int64_t ch_last = g.size("output_layer.2.weight", 1);
  const int64_t blocks = g.count_blocks();
  if (deep) {
    infer_deep_G_stages(g, blocks, ch_last, c);
  } else {
    c.resolution = resolution_with_stages({{32, 3}, {64, 4}, {128, 5}, {256, 6}, {512, 7}}, blocks);
    if (c.resolution < 0) throw g.error(std::to_string(blocks) + " blocks fit no BigGAN table");
    if (ch_last % g_last_multiple(c.resolution)) throw g.error("output channels fit no G_ch");
    c.G_ch = ch_last / g_last_multiple(c.resolution);
  }
  const Arch arch = deep ? biggan_deep_G_arch(c.G_ch, "0", c.resolution) : biggan_G_arch(c.G_ch, "0", c.resolution);
  const auto stages = static_cast<int64_t>(arch.in_channels.size());
  const int64_t depth = deep ? c.G_depth : 1;
  std::vector<bool> attn(stages);
  for (int64_t i = 0; i < stages; ++i) attn[i] = g.has("blocks." + std::to_string(i * depth + depth - 1) + ".1.gamma");
  c.G_attn = attention_spec(arch, attn, c.G_attn);

  const int64_t bw2 = g.size("linear.weight", 0) / arch.in_channels[0];
  c.bottom_width = std::llround(std::sqrt(static_cast<double>(bw2)));
  if (c.bottom_width * c.bottom_width * arch.in_channels[0] != g.size("linear.weight", 0))
    throw g.error("linear's outputs fit no bottom_width");

  c.G_param = g.count_svs("linear") > 0 ? "SN" : (c.G_param == "SN" ? "none" : c.G_param);
  if (c.G_param == "SN") c.num_G_SVs = g.count_svs("linear");
  infer_bn_flavour(g, "blocks.0.0.bn1", c);

  // Class conditioning and the latent: shared embedding or per-class BN embeddings; hier chunks.
  const int64_t linear_in = g.size("linear.weight", 1);
  const int64_t bn_in = g.size("blocks.0.0.bn1.gain.weight", 1);
  c.G_shared = g.has("shared.weight");
  if (c.G_shared) {
    c.n_classes = g.size("shared.weight", 0);
    const int64_t shared = g.size("shared.weight", 1);
    if (deep) {
      c.dim_z = linear_in - shared;
      c.hier = true;  // BigGAN-deep's G runs only with hier (z and shared(y) concatenated)
    } else {
      const int64_t chunk = bn_in - shared;
      c.hier = chunk > 0;
      // With hier the reference floors dim_z to a multiple of stages + 1: a base that floors alike stays.
      if (!c.hier) c.dim_z = linear_in;
      else if (c.dim_z / (stages + 1) != chunk) c.dim_z = chunk * (stages + 1);
    }
    c.shared_dim = (shared == c.dim_z && c.shared_dim == 0) ? 0 : shared;
  } else {
    c.n_classes = g.size("blocks.0.0.bn1.gain.weight", 0);
    if (deep) {
      c.dim_z = c.shared_dim > 0 ? linear_in - c.shared_dim : linear_in / 2;
      c.hier = true;
    } else if (!(c.hier && c.dim_z / (stages + 1) == linear_in)) {
      c.hier = false;
      c.dim_z = linear_in;
    }
  }
  for (const char* f : {"model", "resolution", "n_classes", "G_ch", "G_attn", "dim_z", "bottom_width", "G_shared",
                        "hier", "G_param", "num_G_SVs", "norm_style", "cross_replica", "mybn"})
    decided.push_back(f);
  if (deep) decided.push_back("G_depth");
  if (c.G_shared || deep) decided.push_back("shared_dim");
}

void infer_D(const Tensors& d, ModelConfig& c, std::vector<std::string>& decided) {
  const bool deep = d.has("input_conv.weight");
  c.model = deep ? "BigGANdeep" : "BigGAN";
  const int64_t stages = d.count_blocks();
  c.resolution = deep ? resolution_with_stages({{32, 3}, {64, 4}, {128, 5}, {256, 6}}, stages)
                      : resolution_with_stages({{32, 4}, {64, 5}, {128, 6}, {256, 7}}, stages);
  if (c.resolution < 0) throw d.error(std::to_string(stages) + " blocks fit no table");
  const int64_t last_multiple = c.resolution == 32 ? 4 : 16;
  const int64_t ch_last = d.size("linear.weight", 1);
  if (ch_last % last_multiple) throw d.error("linear's inputs fit no D_ch");
  c.D_ch = ch_last / last_multiple;
  c.output_dim = d.size("linear.weight", 0);
  c.n_classes = d.size("embed.weight", 0);
  c.D_param = d.count_svs("linear") > 0 ? "SN" : (c.D_param == "SN" ? "none" : c.D_param);
  if (c.D_param == "SN") c.num_D_SVs = d.count_svs("linear");
  if (deep) {
    c.D_depth = 0;
    while (d.has("blocks.0." + std::to_string(c.D_depth) + ".conv1.weight")) ++c.D_depth;
    decided.push_back("D_depth");
  } else {
    // Wide: conv1 maps to the block's output channels; thin: it keeps the input's (3 in block 0).
    c.D_wide = d.size("blocks.0.0.conv1.weight", 0) == d.size("blocks.0.0.conv2.weight", 0);
    decided.push_back("D_wide");
  }
  const Arch arch = deep ? biggan_deep_D_arch(c.D_ch, "0", c.resolution) : biggan_D_arch(c.D_ch, "0", c.resolution);
  const std::string attn_slot = "." + std::to_string(deep ? c.D_depth : 1) + ".gamma";
  std::vector<bool> attn(arch.out_channels.size());
  for (size_t i = 0; i < attn.size(); ++i) attn[i] = d.has("blocks." + std::to_string(i) + attn_slot);
  c.D_attn = attention_spec(arch, attn, c.D_attn);
  for (const char* f : {"model", "resolution", "n_classes", "D_ch", "D_attn", "output_dim", "D_param", "num_D_SVs"})
    decided.push_back(f);
}

std::string bool_text(bool b) { return b ? "true" : "false"; }
std::string number_text(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

const std::vector<std::string>& architecture_fields() {
  static const std::vector<std::string> fields = {
      "model",   "resolution", "n_classes", "G_ch",      "G_depth",   "G_attn",    "dim_z",      "bottom_width",
      "G_shared", "shared_dim", "hier",     "G_param",   "num_G_SVs", "D_ch",      "D_depth",    "D_attn",
      "D_wide",  "output_dim", "D_param",   "num_D_SVs", "norm_style", "cross_replica", "mybn"};
  return fields;
}

std::string architecture_field_text(const ModelConfig& c, const std::string& f) {
  const std::map<std::string, std::function<std::string()>> text = {
      {"model", [&] { return c.model; }},
      {"resolution", [&] { return std::to_string(c.resolution); }},
      {"n_classes", [&] { return std::to_string(c.n_classes); }},
      {"G_ch", [&] { return std::to_string(c.G_ch); }},
      {"G_depth", [&] { return std::to_string(c.G_depth); }},
      {"G_attn", [&] { return c.G_attn; }},
      {"dim_z", [&] { return std::to_string(c.dim_z); }},
      {"bottom_width", [&] { return std::to_string(c.bottom_width); }},
      {"G_shared", [&] { return bool_text(c.G_shared); }},
      {"shared_dim", [&] { return std::to_string(c.shared_dim); }},
      {"hier", [&] { return bool_text(c.hier); }},
      {"G_param", [&] { return c.G_param; }},
      {"num_G_SVs", [&] { return std::to_string(c.num_G_SVs); }},
      {"D_ch", [&] { return std::to_string(c.D_ch); }},
      {"D_depth", [&] { return std::to_string(c.D_depth); }},
      {"D_attn", [&] { return c.D_attn; }},
      {"D_wide", [&] { return bool_text(c.D_wide); }},
      {"output_dim", [&] { return std::to_string(c.output_dim); }},
      {"D_param", [&] { return c.D_param; }},
      {"num_D_SVs", [&] { return std::to_string(c.num_D_SVs); }},
      {"norm_style", [&] { return c.norm_style; }},
      {"cross_replica", [&] { return bool_text(c.cross_replica); }},
      {"mybn", [&] { return bool_text(c.mybn); }},
  };
  auto it = text.find(f);
  return it == text.end() ? std::string() : it->second();
}

ArchitectureInference infer_architecture(const StateDict* G, const StateDict* D, const ModelConfig& base,
                                         const std::string& source) {
  if (!G && !D) throw input_error(source, "no G or D tensors to infer the architecture from");
  ArchitectureInference out;
  out.config = base;
  std::vector<std::string> decided;
  if (G) infer_G(Tensors(*G, "G", source), out.config, decided);
  if (D) {
    ModelConfig from_d = out.config;
    infer_D(Tensors(*D, "D", source), from_d, decided);
    if (G)
      for (const char* f : {"model", "resolution", "n_classes"})
        if (architecture_field_text(from_d, f) != architecture_field_text(out.config, f))
          throw input_error(source, std::string("G and D disagree on ") + f + ": " +
                                        architecture_field_text(out.config, f) + " vs " +
                                        architecture_field_text(from_d, f));
    out.config = from_d;
  }
  for (const auto& f : architecture_fields())
    if (std::find(decided.begin(), decided.end(), f) != decided.end()) out.decided.push_back(f);
  // What no tensor shows: taken from `base` (the stored config, else the reference's defaults).
  const auto& c = out.config;
  if (G) {
    out.assumed.push_back("G_nl " + c.G_nl);
    out.assumed.push_back("BN_eps " + number_text(c.BN_eps));
    if (c.G_param == "SN") out.assumed.push_back("num_G_SV_itrs " + std::to_string(c.num_G_SV_itrs));
    out.assumed.push_back("G_init " + c.G_init);
    if (!c.mybn && !c.cross_replica) out.assumed.push_back("norm_style " + c.norm_style + " (bn, in alike)");
  }
  if (D) {
    out.assumed.push_back("D_nl " + c.D_nl);
    if (c.D_param == "SN") out.assumed.push_back("num_D_SV_itrs " + std::to_string(c.num_D_SV_itrs));
    out.assumed.push_back("D_init " + c.D_init);
  }
  out.assumed.push_back("SN_eps " + number_text(c.SN_eps));
  return out;
}

std::string architecture_mismatch(const ModelConfig& config, const StateDict* G, const StateDict* D) {
  ModelConfig c = config;
  c.skip_init = true;
  // Building draws the SN u buffers from torch's generator: put its state back afterwards.
  auto gen = at::detail::getDefaultCPUGenerator();
  const auto saved = gen.get_state();
  std::string out;
  auto compare = [&](const torch::nn::Module& m, const StateDict& sd, const std::string& what) {
    const StateDict want = state_dict(m);
    for (const auto& kv : want) {
      const torch::Tensor* t = sd.find(kv.key());
      if (!t) out += (out.empty() ? "" : "; ") + what + " lacks '" + kv.key() + "'";
      else if (t->sizes() != kv.value().sizes())
        out += (out.empty() ? "" : "; ") + what + " '" + kv.key() + "' has shape " + c10::str(t->sizes()) +
               ", the model " + c10::str(kv.value().sizes());
      if (out.size() > 300) return;
    }
    for (const auto& kv : sd)
      if (!want.find(kv.key()) && out.size() <= 300)
        out += (out.empty() ? "" : "; ") + what + " has an unexpected '" + kv.key() + "'";
  };
  try {
    torch::NoGradGuard no_grad;
    if (G) compare(*make_generator(c), *G, "G");
    if (D) compare(*make_discriminator(c), *D, "D");
  } catch (const std::exception& e) {
    out = e.what();
  }
  gen.set_state(saved);
  return out;
}

}  // namespace biggan
