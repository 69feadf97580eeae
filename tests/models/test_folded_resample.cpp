// Resampling folded into the 3x3 convolutions (models/folded_resample.h, --fold_resample): the
// same function as the reference's upsample-then-conv / conv-then-pool, values and gradients, and
// G / D built with it compute what the reference's blocks compute from the same weights.
#include <catch2/catch.hpp>

#include <array>

#include "libbiggan/models/autocast.h"
#include "libbiggan/models/folded_resample.h"
#include "libbiggan/models/model.h"
#include "libbiggan/models/model_config.h"
#include "libbiggan/util/error.h"
#include "tests/models/model_twins.h"

using namespace biggan;
namespace F = torch::nn::functional;

namespace {

torch::Tensor reference_conv_of_upsampled(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  auto up = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  return torch::conv2d(up, w, b, 1, 1);
}

torch::Tensor reference_avgpool_of_conv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::avg_pool2d(torch::conv2d(x, w, b, 1, 1), {2, 2});
}

using ConvFn = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&);

// Output and the gradients of x, w and b under a random upstream gradient, from fn.
std::vector<torch::Tensor> run_with_grads(ConvFn fn, torch::Tensor x, torch::Tensor w, torch::Tensor b,
                                          uint64_t upstream_seed) {
  x = x.detach().requires_grad_(), w = w.detach().requires_grad_(), b = b.detach().requires_grad_();
  auto out = fn(x, w, b);
  torch::manual_seed(upstream_seed);
  (out * torch::randn_like(out)).sum().backward();
  return {out.detach(), x.grad(), w.grad(), b.grad()};
}

}  // namespace

TEST_CASE("folded resampling is upsample-then-conv and conv-then-pool, values and gradients", "[folded_resample]") {
  torch::manual_seed(1);
  // Square and not, even and odd (pooling drops the last odd row as avg_pool2d does), 1 to 5 channels.
  for (auto [h, w_, in, out] : std::vector<std::array<int64_t, 4>>{{4, 4, 3, 5}, {5, 3, 2, 1}, {8, 6, 1, 4}}) {
    INFO(h << "x" << w_ << " " << in << "->" << out);
    auto w = torch::randn({out, in, 3, 3}), b = torch::randn({out});
    auto x = torch::randn({2, in, h, w_});
    const uint64_t seed = 7;
    auto want = run_with_grads(reference_conv_of_upsampled, x, w, b, seed);
    auto got = run_with_grads(conv3x3_of_upsampled, x, w, b, seed);
    CHECK(got[0].sizes() == torch::IntArrayRef({2, out, 2 * h, 2 * w_}));
    for (size_t i = 0; i < want.size(); ++i) {
      INFO("upsampled, tensor " << i << " (output, dx, dw, db)");
      CHECK(torch::allclose(got[i], want[i], 1e-5, 1e-5));
    }
    auto x_big = torch::randn({2, in, 2 * h + 1, 2 * w_});
    want = run_with_grads(reference_avgpool_of_conv, x_big, w, b, seed);
    got = run_with_grads(avgpool_of_conv3x3, x_big, w, b, seed);
    CHECK(got[0].sizes() == want[0].sizes());
    for (size_t i = 0; i < want.size(); ++i) {
      INFO("pooled, tensor " << i << " (output, dx, dw, db)");
      CHECK(torch::allclose(got[i], want[i], 1e-5, 1e-5));
    }
  }
  // Without a bias too.
  auto w = torch::randn({3, 2, 3, 3});
  auto x = torch::randn({1, 2, 4, 4});
  CHECK(torch::allclose(conv3x3_of_upsampled(x, w, {}), reference_conv_of_upsampled(x, w, {}), 1e-5, 1e-5));
  CHECK(torch::allclose(avgpool_of_conv3x3(x, w, {}), reference_avgpool_of_conv(x, w, {}), 1e-5, 1e-5));
}

TEST_CASE("folded resampling under bf16 autocast computes in bf16 from float32 tap sums", "[folded_resample]") {
  torch::manual_seed(2);
  auto w = torch::randn({4, 3, 3, 3}), b = torch::randn({4});
  auto x = torch::randn({2, 3, 6, 6});
  const auto want_up = reference_conv_of_upsampled(x, w, b), want_pool = reference_avgpool_of_conv(x, w, b);
  AutocastScope autocast(torch::kCPU, torch::kBFloat16);
  const auto up = conv3x3_of_upsampled(x, w, b), pool = avgpool_of_conv3x3(x, w, b);
  CHECK(up.scalar_type() == torch::kBFloat16);
  CHECK(pool.scalar_type() == torch::kBFloat16);
  // bf16 keeps 8 significant bits: relative error up to 2^-8 per rounding, a few roundings deep.
  CHECK(torch::allclose(up.to(torch::kFloat), want_up, 0.03, 0.05));
  CHECK(torch::allclose(pool.to(torch::kFloat), want_pool, 0.03, 0.05));
}

TEST_CASE("folded resampling refuses a kernel that is not 3x3", "[folded_resample]") {
  auto x = torch::randn({1, 2, 4, 4});
  CHECK_THROWS_WITH(conv3x3_of_upsampled(x, torch::randn({3, 2, 1, 1}), {}),
                    Catch::Contains("3x3") && Catch::Contains("[3, 2, 1, 1]"));
  CHECK_THROWS_WITH(avgpool_of_conv3x3(x, torch::randn({3, 2, 5, 5}), {}), Catch::Contains("[3, 2, 5, 5]"));
}

TEST_CASE("fold_resample: G and D compute what the reference's blocks compute, with their gradients", "[folded_resample]") {
  for (const char* model : {"BigGAN", "BigGANdeep"}) {
    for (bool channels_last : {false, true}) {
      INFO(model << (channels_last ? " channels-last" : ""));
      ModelConfig m = small_test_model(model);
      m.channels_last = channels_last;
      ModelConfig folded = m;
      folded.fold_resample = true;
      ModelTwins twins(m, folded);
      auto &G = twins.G, &G_f = twins.G_variant;
      auto &D = twins.D, &D_f = twins.D_variant;
      auto y = torch::tensor({0, 2});
      auto z = torch::randn({2, G->dim_z()});
      const auto x = G->forward(z, G->shared(y)), x_f = G_f->forward(z, G_f->shared(y));
      CHECK(torch::allclose(x_f, x, 1e-4, 1e-5));
      // Not bit-identical: the folded kernels did run (an ignored setting would give equal images).
      CHECK_FALSE(torch::equal(x_f, x));
      const auto out = D->forward(x, y), out_f = D_f->forward(x_f, y);
      CHECK(torch::allclose(out_f, out, 1e-4, 1e-5));
      (out.sum()).backward();
      (out_f.sum()).backward();
      auto params = G->named_parameters(), params_f = G_f->named_parameters();
      auto d_params = D->named_parameters(), d_params_f = D_f->named_parameters();
      for (auto& [list, list_f] : {std::pair{params, params_f}, std::pair{d_params, d_params_f}}) {
        for (const auto& p : list) {
          INFO(p.key());
          const auto g = p.value().grad(), g_f = list_f[p.key()].grad();
          REQUIRE(g.defined() == g_f.defined());
          if (g.defined()) CHECK(torch::allclose(g_f, g, 1e-3, 1e-5));
        }
      }
    }
  }
}
