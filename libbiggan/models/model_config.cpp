#include "libbiggan/models/model_config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <utility>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

bool is_known_init(const std::string& s) {
  return s == "ortho" || s == "N02" || s == "glorot" || s == "xavier";
}
bool is_known_nl(const std::string& s) { return s == "relu" || s == "inplace_relu" || s == "ir"; }

std::string number_text(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

void ModelConfig::validate(const std::string& source) const {
  if (model != "BigGAN" && model != "BigGANdeep")
    throw input_error(source, "model must be BigGAN or BigGANdeep, got '" + model + "'");
  const std::vector<int64_t> g_res = model == "BigGAN" ? std::vector<int64_t>{32, 64, 128, 256, 512}
                                                       : std::vector<int64_t>{32, 64, 128, 256, 512};
  if (std::find(g_res.begin(), g_res.end(), resolution) == g_res.end())
    throw input_error(source, "no " + model + " architecture for resolution " + std::to_string(resolution));
  if (!is_known_init(G_init)) throw input_error(source, "unknown G_init '" + G_init + "'");
  if (!is_known_init(D_init)) throw input_error(source, "unknown D_init '" + D_init + "'");
  if (!is_known_nl(G_nl)) throw input_error(source, "unknown G_nl '" + G_nl + "'");
  if (!is_known_nl(D_nl)) throw input_error(source, "unknown D_nl '" + D_nl + "'");
  if (norm_style != "bn" && norm_style != "in" && norm_style != "gn" && norm_style != "nonorm")
    throw input_error(source, "norm_style '" + norm_style +
                                  "' is not one of bn, in, gn, nonorm (the reference's ccbn "
                                  "has no other branch)");
  if (G_ch <= 0 || D_ch <= 0 || dim_z <= 0 || n_classes <= 0 || bottom_width <= 0)
    throw input_error(source, "G_ch, D_ch, dim_z, n_classes and bottom_width must be positive");
  if (num_G_SVs < 1 || num_D_SVs < 1 || num_G_SV_itrs < 1 || num_D_SV_itrs < 1)
    throw input_error(source, "SV counts and SV iterations must be at least 1");
  if (G_depth < 1 || D_depth < 1) throw input_error(source, "G_depth and D_depth must be >= 1");
  if (model == "BigGANdeep") {
    // Every G resblock narrows its input 4 times; the narrowest input is G_ch times this.
    const int64_t narrowest = resolution == 512 ? 1 : resolution >= 128 ? 2 : 4;
    if (G_ch * narrowest < 4)
      throw input_error(source, "BigGANdeep at resolution " + std::to_string(resolution) + " needs G_ch >= " +
                                    std::to_string((4 + narrowest - 1) / narrowest) + " (its narrowest resblock has G_ch * " +
                                    std::to_string(narrowest) + " / 4 bottleneck channels), got " + std::to_string(G_ch));
  }
  // Numbers the layers divide by: NaN, infinite or non-positive ones poison every output.
  const std::pair<const char*, double> positive[] = {
      {"BN_eps", BN_eps}, {"SN_eps", SN_eps}, {"G_output_BN_eps", G_output_BN_eps}};
  for (const auto& [name, v] : positive)
    if (!std::isfinite(v) || v <= 0)
      throw input_error(source, std::string(name) + " must be a positive finite number, got " + number_text(v));
  if (G_output_channels < 3)
    throw input_error(source, "G_output_channels must be at least 3 (the image's), got " + std::to_string(G_output_channels));
  if (G_BN_levels < 0 || G_BN_levels == 1)
    throw input_error(source, "G_BN_levels must be 0 (one set of BN statistics) or at least 2, got " +
                                  std::to_string(G_BN_levels));
  if (G_BN_levels > 0 && (norm_style != "bn" || mybn || cross_replica))
    throw input_error(source, "G_BN_levels (BN statistics per truncation level) needs norm_style bn "
                              "without mybn or cross_replica");
  parse_attention(G_attn);
  parse_attention(D_attn);
}

std::vector<int64_t> parse_attention(const std::string& spec) {
  std::vector<int64_t> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, '_')) {
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0')
      throw Error("attention spec '" + spec + "': '" + item + "' is not an integer");
    out.push_back(v);
  }
  return out;
}

}  // namespace biggan
