// Adam's and the EMA's flat buffers change the speed, not the numbers: the same updates bit for bit
// as the per-tensor path, the modules keep their tensors, anything that replaces a tensor's storage
// is followed, and saves still hold one storage per tensor.
#include <catch2/catch.hpp>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/adam.h"
#include "libbiggan/training/ema.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {

torch::nn::Sequential small_net(uint64_t seed) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 5, 3)), torch::nn::BatchNorm2d(5),
                               torch::nn::Flatten(), torch::nn::Linear(5 * 4 * 4, 7), torch::nn::Linear(7, 3));
}

// Gives every parameter of `net` the gradient drawn from `seed` (as backward would: into .grad).
void backward_with(torch::nn::Sequential& net, uint64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::randn({4, 3, 6, 6});
  net->forward(x).pow(2).sum().backward();
}

bool same_bits(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

bool same_state(const c10::IValue& a, const c10::IValue& b) {
  auto sa = a.toGenericDict().at("state").toGenericDict(), sb = b.toGenericDict().at("state").toGenericDict();
  if (sa.size() != sb.size()) return false;
  for (const auto& kv : sa) {
    auto x = kv.value().toGenericDict(), y = sb.at(kv.key()).toGenericDict();
    for (const char* key : {"step", "exp_avg", "exp_avg_sq"})
      if (!torch::equal(x.at(key).toTensor(), y.at(key).toTensor())) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("Adam's flat buffers update exactly as the per-parameter path", "[adam][flat]") {
  auto flat_net = small_net(1), plain_net = small_net(1);
  const double weight_decay = GENERATE(0.0, 1e-3);
  AdamOptions o{2e-4, 0.0, 0.999, 1e-8, weight_decay};
  Adam flat(flat_net->parameters(), o), plain(plain_net->parameters(), o);
  plain.set_flat_enabled(false);
  const auto first_param = flat_net->parameters()[0];
  for (uint64_t s = 0; s < 4; ++s) {
    for (auto* pair : {&flat, &plain}) pair->zero_grad();
    backward_with(flat_net, 10 + s);
    backward_with(plain_net, 10 + s);
    flat.step();
    plain.step();
    CHECK(flat.flat());
    CHECK_FALSE(plain.flat());
    CHECK(same_bits(flat_net->parameters(), plain_net->parameters()));
    CHECK(same_state(flat.state_dict(), plain.state_dict()));
  }
  // The module's parameter is still the tensor it was (now a view into the buffer).
  CHECK(flat_net->parameters()[0].unsafeGetTensorImpl() == first_param.unsafeGetTensorImpl());
  CHECK(flat_net->parameters()[0].storage().nbytes() > size_t(first_param.numel()) * sizeof(float));

  SECTION("a gradient replaced from outside is followed") {
    torch::NoGradGuard no_grad;
    for (auto net : {flat_net, plain_net}) {
      auto p = net->parameters()[2];
      p.mutable_grad() = p.grad().clone() * 2;
    }
    flat.step();
    plain.step();
    CHECK(flat.flat());
    CHECK(same_bits(flat_net->parameters(), plain_net->parameters()));
  }
  SECTION("a loaded state is followed") {
    const auto sd = plain.state_dict();
    flat.load_state_dict(sd, "state");
    for (auto* pair : {&flat, &plain}) pair->zero_grad();
    backward_with(flat_net, 99);
    backward_with(plain_net, 99);
    flat.step();
    plain.step();
    CHECK(flat.flat());
    CHECK(same_bits(flat_net->parameters(), plain_net->parameters()));
    CHECK(same_state(flat.state_dict(), plain.state_dict()));
  }
  SECTION("a parameter without a gradient takes the per-parameter path, with no state, as in Python") {
    auto net = small_net(2);
    Adam a(net->parameters(), o);
    backward_with(net, 5);
    net->parameters()[1].mutable_grad() = torch::Tensor();
    a.step();
    CHECK_FALSE(a.flat());
    CHECK(a.state_dict().toGenericDict().at("state").toGenericDict().size() == net->parameters().size() - 1);
  }
}

TEST_CASE("the EMA's spans update exactly as tensor by tensor, int64 buffers included", "[ema][flat]") {
  auto source = small_net(3), target = small_net(4);
  AdamOptions o{1e-2, 0.0, 0.999, 1e-8, 0.0};
  Adam adam(source->parameters(), o);
  Ema ema(*source, *target, 0.9, 0, /*copy_now=*/false);  // target keeps its own values: a visible average
  for (uint64_t s = 0; s < 3; ++s) {
    adam.zero_grad();
    backward_with(source, 20 + s);  // train mode: BatchNorm's running stats and counter move too
    adam.step();
    std::vector<torch::Tensor> expected;
    {
      torch::NoGradGuard no_grad;
      auto src = state_dict(*source), dst = state_dict(*target);
      for (const auto& kv : dst) {
        auto t = kv.value().clone();
        expected.push_back(t.copy_(t * 0.9 + src[kv.key()] * (1 - 0.9)));
      }
    }
    ema.update(s + 1);
    std::vector<torch::Tensor> got;
    for (const auto& kv : state_dict(*target)) got.push_back(kv.value());
    CHECK(same_bits(got, expected));
  }
  // Parameters (in Adam's buffer) and float buffers are one span each; the int64 counter its own.
  CHECK(adam.flat());
  CHECK(ema.spans() == 3);
}

TEST_CASE("with_own_storages: a state dict of views into a flat buffer saves one storage per tensor", "[flat][save]") {
  auto net = small_net(5);
  Adam adam(net->parameters(), AdamOptions{});
  backward_with(net, 6);
  adam.step();
  REQUIRE(adam.flat());
  test::TempDir tmp;
  const auto path = (tmp / "net.pth").string();
  torchfile::save_state_dict(path, with_own_storages(state_dict(*net)));
  const auto loaded = torchfile::load_state_dict(path);
  const auto ours = state_dict(*net);
  REQUIRE(loaded.size() == ours.size());
  for (const auto& kv : ours) {
    const auto& t = loaded[kv.key()];
    CHECK(torch::equal(t, kv.value()));
    CHECK(t.storage().nbytes() == size_t(t.numel()) * t.element_size());
  }
}
