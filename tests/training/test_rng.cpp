#include <catch2/catch.hpp>

#include "libbiggan/training/rng.h"
#include "libbiggan/training/train_state.h"

using namespace biggan;

TEST_CASE("generator states: capture and restore replay the same draws", "[rng]") {
  torch::manual_seed(7);
  const auto states = GeneratorStates::capture(torch::kCPU);
  CHECK_FALSE(states.cuda.defined());  // a CPU run records only the CPU generator
  auto a = torch::randn({16});
  states.restore(torch::kCPU);
  auto b = torch::randn({16});
  CHECK(torch::equal(a, b));
}

TEST_CASE("private generators never move torch's default one", "[rng]") {
  torch::manual_seed(3);
  auto expected = torch::randn({8});
  torch::manual_seed(3);
  auto gen = private_generator(torch::kCPU, 123);
  auto own = torch::randn({8}, gen);
  CHECK(torch::equal(torch::randn({8}), expected));
  // The same seed gives the same private draws.
  auto again = torch::randn({8}, private_generator(torch::kCPU, 123));
  CHECK(torch::equal(own, again));
}

TEST_CASE("training state keeps a CUDA generator state through to_ivalue / from_ivalue", "[rng]") {
  TrainState s;
  s.itr = 5;
  s.rng_state = default_generator_state(torch::kCPU);
  s.cuda_rng_state = torch::arange(16, torch::kUInt8);  // any uint8 blob: the format, not CUDA, is tested
  auto back = TrainState::from_ivalue(s.to_ivalue(), "mem");
  CHECK(back.itr == 5);
  REQUIRE(back.cuda_rng_state.defined());
  CHECK(torch::equal(back.cuda_rng_state, s.cuda_rng_state));
  CHECK(torch::equal(back.rng_state, s.rng_state));
  // A CPU save has no such key, and reads back without one.
  TrainState cpu;
  CHECK_FALSE(TrainState::from_ivalue(cpu.to_ivalue(), "mem").cuda_rng_state.defined());
}
