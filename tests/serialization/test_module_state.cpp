// The one state-dict loader (serialization/module_state.h): Python's key order, every mismatch in
// one message, nothing changed by a failed load, and the per-network options.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/util/error.h"

using namespace biggan;

namespace {

// A parameter, a float buffer, an integer buffer and a child with its own: every kind the loader
// distinguishes, in a known order.
struct NetImpl : torch::nn::Module {
  NetImpl() {
    weight = register_parameter("weight", torch::randn({3, 2}));
    counter = register_buffer("counter", torch::zeros({}, torch::kLong));
    child = register_module("child", torch::nn::Linear(2, 4));
    stats = register_buffer("stats", torch::ones({4}));
  }
  torch::Tensor weight, counter, stats;
  torch::nn::Linear child{nullptr};
};
TORCH_MODULE(Net);

std::string load_error(torch::nn::Module& m, const StateDict& sd, const std::string& source,
                       const StateDictLoadOptions& options = {}) {
  try {
    load_state_dict(m, sd, source, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void check_unchanged(const StateDict& now, const StateDict& before) {
  REQUIRE(now.size() == before.size());
  for (size_t i = 0; i < now.size(); ++i) {
    INFO(now[i].key());
    CHECK(torch::equal(now[i].value(), before[i].value()));
  }
}

}  // namespace

TEST_CASE("state_dict: Python's order (own parameters, own buffers, then children)", "[module_state]") {
  Net net;
  std::vector<std::string> keys;
  for (const auto& item : state_dict(*net)) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"weight", "counter", "stats", "child.weight", "child.bias"});
  // The entries alias the module's tensors.
  CHECK(state_dict(*net)["weight"].data_ptr() == net->weight.data_ptr());
}

TEST_CASE("load_state_dict copies every tensor, converting within a dtype kind", "[module_state]") {
  Net a, b;
  auto sd = clone_state_dict(state_dict(*a));
  sd["weight"] = sd["weight"].to(torch::kDouble);  // float64 into float32, as torch does
  load_state_dict(*b, sd, "a.pth");
  CHECK(torch::equal(b->weight, a->weight));
  CHECK(torch::equal(b->child->weight, a->child->weight));
  CHECK(b->weight.scalar_type() == torch::kFloat);
}

TEST_CASE("load_state_dict reports every mismatch in one message and changes nothing", "[module_state]") {
  Net net;
  const auto before = clone_state_dict(state_dict(*net));
  StateDict sd;
  // weight: kept right, so a loader that copied as it went would have changed it.
  sd.insert("weight", torch::full({3, 2}, 7.0));
  sd.insert("counter", torch::zeros({}, torch::kFloat));  // a float where an integer counter is
  sd.insert("stats", torch::ones({5}));                   // wrong shape
  sd.insert("child.weight", torch::full({4, 2}, std::numeric_limits<float>::quiet_NaN()));
  // child.bias missing
  sd.insert("extra.weight", torch::zeros({1}));
  sd.insert("extra.bias", torch::zeros({1}));
  const std::string msg = load_error(*net, sd, "dir/bad.pth");
  INFO(msg);
  CHECK(msg.rfind("dir/bad.pth: state dict cannot be loaded: ", 0) == 0);
  CHECK(msg.find("1 missing key(s): child.bias") != std::string::npos);
  CHECK(msg.find("2 unexpected key(s): extra.weight, extra.bias") != std::string::npos);
  CHECK(msg.find("1 shape mismatch(es): 'stats' has shape [5], expected [4]") != std::string::npos);
  CHECK(msg.find("1 dtype mismatch(es): 'counter' is Float, expected integer (Long)") != std::string::npos);
  CHECK(msg.find("NaN or infinite values in 1 tensor(s): child.weight") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  check_unchanged(state_dict(*net), before);
}

TEST_CASE("load_state_dict: long lists are cut, the count stays whole", "[module_state]") {
  torch::nn::Sequential seq;
  for (int i = 0; i < 30; ++i) seq->push_back(torch::nn::Linear(1, 1));
  const std::string msg = load_error(*seq, StateDict(), "empty.pth");
  INFO(msg);
  CHECK(msg.find("60 missing key(s): 0.weight, 0.bias, 1.weight") != std::string::npos);
  CHECK(msg.find("... (40 more)") != std::string::npos);
}

TEST_CASE("load_state_dict options: optional module keys, file-only entries, what the module is", "[module_state]") {
  Net source, net;
  auto sd = clone_state_dict(state_dict(*source));
  StateDict partial;
  for (const auto& item : sd)
    if (item.key() != "counter") partial.insert(item.key(), item.value());
  partial.insert("arch.version", torch::tensor(int64_t{1}));

  // Strict: both differences are errors, and the message says what the module is.
  StateDictLoadOptions named;
  named.into = "a test net";
  const std::string msg = load_error(*net, partial, "p.pth", named);
  INFO(msg);
  CHECK(msg.find("p.pth: state dict cannot be loaded into a test net: 1 missing key(s): counter; "
                 "1 unexpected key(s): arch.version") == 0);

  StateDictLoadOptions lenient;
  lenient.optional_key = [](const std::string& k) { return k == "counter"; };
  lenient.file_only_key = [](const std::string& k) { return k.rfind("arch.", 0) == 0; };
  torch::NoGradGuard ng;
  net->counter.fill_(5);
  load_state_dict(*net, partial, "p.pth", lenient);
  CHECK(net->counter.item<int64_t>() == 5);  // optional and absent: left as it was
  CHECK(torch::equal(net->weight, source->weight));
  CHECK(torch::equal(net->stats, source->stats));
}
