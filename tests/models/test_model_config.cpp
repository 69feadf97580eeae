// ModelConfig (what G / D are built from), model_config(Config), and the layers' options builders.
#include <catch2/catch.hpp>

#include <set>

#include <sstream>
#include <string>

#include "libbiggan/models/layers.h"
#include "libbiggan/models/model.h"
#include "libbiggan/models/model_config.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/config.h"
#include "libbiggan/util/error.h"
#include "tests/models/model_twins.h"

using namespace biggan;

namespace {

// Every ModelConfig field, printed, so that two configs compare field by field in one message.
std::string fields(const ModelConfig& m) {
  std::ostringstream s;
  s << m.model << " res=" << m.resolution << " nc=" << m.n_classes << " G_ch=" << m.G_ch << " G_depth=" << m.G_depth
    << " G_attn=" << m.G_attn << " dim_z=" << m.dim_z << " bw=" << m.bottom_width << " G_shared=" << m.G_shared
    << " shared_dim=" << m.shared_dim << " hier=" << m.hier << " G_nl=" << m.G_nl << " G_param=" << m.G_param
    << " G_SVs=" << m.num_G_SVs << " G_itrs=" << m.num_G_SV_itrs << " G_init=" << m.G_init << " D_ch=" << m.D_ch
    << " D_depth=" << m.D_depth << " D_attn=" << m.D_attn << " D_wide=" << m.D_wide << " out=" << m.output_dim
    << " D_nl=" << m.D_nl << " D_param=" << m.D_param << " D_SVs=" << m.num_D_SVs << " D_itrs=" << m.num_D_SV_itrs
    << " D_init=" << m.D_init << " norm=" << m.norm_style << " xr=" << m.cross_replica << " mybn=" << m.mybn
    << " BN_eps=" << m.BN_eps << " SN_eps=" << m.SN_eps << " skip_init=" << m.skip_init
    << " channels_last=" << m.channels_last << " fold_resample=" << m.fold_resample;
  return s.str();
}

}  // namespace

TEST_CASE("ModelConfig: the defaults are the reference's, as Config's", "[model_config]") {
  CHECK(fields(model_config(Config())) == fields(ModelConfig()));
}

TEST_CASE("model_config copies every model setting from Config", "[model_config]") {
  Config c;
  c.model = "BigGANdeep";
  c.resolution = 64;
  c.n_classes = 10;
  c.G_ch = 3, c.G_depth = 2, c.G_attn = "32", c.dim_z = 20, c.bottom_width = 2, c.G_shared = true;
  c.shared_dim = 7, c.hier = true, c.G_nl = "ir", c.G_param = "plain", c.num_G_SVs = 2, c.num_G_SV_itrs = 3;
  c.G_init = "N02", c.D_ch = 5, c.D_depth = 3, c.D_attn = "0", c.D_wide = false, c.output_dim = 2;
  c.D_nl = "inplace_relu", c.D_param = "plain", c.num_D_SVs = 4, c.num_D_SV_itrs = 5, c.D_init = "xavier";
  c.norm_style = "in", c.cross_replica = true, c.mybn = true, c.BN_eps = 1e-3, c.SN_eps = 1e-6, c.skip_init = true;
  c.channels_last = true, c.fold_resample = true;
  const std::string want =
      "BigGANdeep res=64 nc=10 G_ch=3 G_depth=2 G_attn=32 dim_z=20 bw=2 G_shared=1 shared_dim=7 hier=1 G_nl=ir "
      "G_param=plain G_SVs=2 G_itrs=3 G_init=N02 D_ch=5 D_depth=3 D_attn=0 D_wide=0 out=2 D_nl=inplace_relu "
      "D_param=plain D_SVs=4 D_itrs=5 D_init=xavier norm=in xr=1 mybn=1 BN_eps=0.001 SN_eps=1e-06 skip_init=1 "
      "channels_last=1 fold_resample=1";
  CHECK(fields(model_config(c)) == want);
  CHECK(model_config(c).effective_shared_dim() == 7);
  c.shared_dim = 0;
  CHECK(model_config(c).effective_shared_dim() == 20);
}

TEST_CASE("ModelConfig::validate and Config::validate_model name the bad setting", "[model_config]") {
  ModelConfig m;
  CHECK_NOTHROW(m.validate("m"));
  m.norm_style = "layer";
  CHECK_THROWS_WITH(m.validate("m.json"), Catch::StartsWith("m.json: norm_style 'layer'"));
  m = ModelConfig();
  m.SN_eps = 0;
  CHECK_THROWS_WITH(m.validate("m.json"), Catch::Contains("SN_eps must be a positive finite number"));
  m = ModelConfig();
  m.D_attn = "16_x";
  CHECK_THROWS_WITH(m.validate("m.json"), Catch::Contains("'x' is not an integer"));
  // z_var is no model setting, but Config's validation still covers it.
  Config c;
  c.z_var = -1;
  CHECK_NOTHROW(model_config(c).validate("c"));
  CHECK_THROWS_WITH(c.validate_model("c.json"), Catch::Contains("z_var must be a positive finite number"));
}

TEST_CASE("layer options builders: sizes, padding, bias and spectral norm", "[model_config]") {
  torch::manual_seed(0);
  SNConv2d conv(SNConv2dOptions(4, 8, 3).padding(1).bias(false).sn(SNOptions().num_svs(2)));
  CHECK(conv->weight.sizes() == torch::IntArrayRef({8, 4, 3, 3}));
  CHECK(!conv->bias.defined());
  CHECK(conv->padding == 1);
  CHECK(conv->u_buffers().size() == 2);
  torch::NoGradGuard ng;
  CHECK(conv->forward(torch::randn({1, 4, 5, 5})).sizes() == torch::IntArrayRef({1, 8, 5, 5}));

  SNLinear plain(SNLinearOptions(3, 2).sn(no_spectral_norm()));
  CHECK(plain->bias.defined());
  CHECK(!plain->spectral_norm());
  CHECK(plain->u_buffers().empty());
  CHECK(state_dict(*plain).size() == 2);  // weight, bias: no u / sv buffers

  SNEmbedding embed(SNEmbeddingOptions(10, 6));
  CHECK(embed->weight.sizes() == torch::IntArrayRef({10, 6}));
  CHECK(embed->u_buffers().at(0).sizes() == torch::IntArrayRef({1, 10}));  // num_outputs = num_embeddings
}

TEST_CASE("G and D run their registered blocks (no parallel list to fall out of step)", "[model_config]") {
  ModelConfig m;
  m.resolution = 32, m.n_classes = 3, m.G_ch = 2, m.D_ch = 2, m.dim_z = 8, m.G_attn = "16", m.D_attn = "16";
  torch::manual_seed(0);
  auto G = make_generator(m);
  auto D = make_discriminator(m);
  torch::NoGradGuard ng;
  auto y = torch::tensor({0, 2});
  auto x = G->forward(torch::randn({2, 8}), G->shared(y));
  CHECK(x.sizes() == torch::IntArrayRef({2, 3, 32, 32}));
  D->eval();  // no power-iteration updates between the two forwards
  const auto before = D->forward(x, y);
  CHECK(before.sizes() == torch::IntArrayRef({2, 1}));
  // Changing a registered block's tensor changes D's output: the forward reads the registered modules.
  auto sd = state_dict(*D);
  REQUIRE(sd.contains("blocks.1.1.gamma"));  // the attention layer after stage 1's block
  sd["blocks.1.0.conv1.bias"].add_(1.0);
  CHECK(!torch::allclose(D->forward(x, y), before));
}

namespace {
// How many nodes of the autograd graph behind `t` are called `name`.
int count_graph_nodes(const torch::Tensor& t, const std::string& name) {
  std::vector<std::shared_ptr<torch::autograd::Node>> todo = {t.grad_fn()};
  std::set<torch::autograd::Node*> seen;
  int n = 0;
  while (!todo.empty()) {
    auto node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node.get()).second) continue;
    n += node->name() == name;
    for (const auto& e : node->next_edges()) todo.push_back(e.function);
  }
  return n;
}
}  // namespace

TEST_CASE("channels_last: G and D compute what the NCHW models compute, G's images contiguous", "[model_config]") {
  for (const char* model : {"BigGAN", "BigGANdeep"}) {
    INFO(model);
    const ModelConfig m = small_test_model(model);
    ModelConfig cl = m;
    cl.channels_last = true;
    ModelTwins twins(m, cl);
    auto &G = twins.G, &G_cl = twins.G_variant;
    auto &D = twins.D, &D_cl = twins.D_variant;
    torch::NoGradGuard ng;
    auto y = torch::tensor({0, 2});
    auto z = torch::randn({2, G->dim_z()});
    const auto x = G->forward(z, G->shared(y)), x_cl = G_cl->forward(z, G_cl->shared(y));
    CHECK(x_cl.is_contiguous());
    // Same weights, another summation order in the convolutions: float32 rounding apart.
    CHECK(torch::allclose(x_cl, x, 1e-4, 1e-5));
    // ... and the flag was not ignored: the channels-last models copy their activations into that
    // layout (clones in the autograd graph that the NCHW models do not have). Bit equality cannot
    // tell: on some CPUs (an AMD EPYC here) oneDNN gives both layouts the same numbers.
    {
      torch::AutoGradMode grad(true);
      auto zg = z.clone().requires_grad_();
      auto xg = x.clone().requires_grad_();
      CHECK(count_graph_nodes(G_cl->forward(zg, G_cl->shared(y)), "CloneBackward0") >
            count_graph_nodes(G->forward(zg, G->shared(y)), "CloneBackward0"));
      CHECK(count_graph_nodes(D_cl->forward(xg, y), "CloneBackward0") >
            count_graph_nodes(D->forward(xg, y), "CloneBackward0"));
    }
    CHECK(torch::allclose(D_cl->forward(x, y), D->forward(x, y), 1e-4, 1e-5));
  }
}
