#include "libbiggan/data/sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <vector>

#include "libbiggan/util/error.h"

namespace biggan::data {

MultiEpochSampler::MultiEpochSampler(int64_t n, int64_t num_epochs, int64_t start_itr, int64_t batch_size)
    : n_(n), num_epochs_(num_epochs), start_itr_(start_itr), batch_size_(batch_size) {
  if (n <= 0) throw Error("MultiEpochSampler: the data set is empty");
  if (num_epochs <= 0) throw Error("MultiEpochSampler: num_epochs must be positive");
  if (start_itr < 0 || batch_size <= 0) throw Error("MultiEpochSampler: bad start_itr or batch_size");
}

int64_t MultiEpochSampler::size() const { return std::max<int64_t>(0, n_ * num_epochs_ - start_itr_ * batch_size_); }

torch::Tensor MultiEpochSampler::draw() const {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  return draw(gen);
}

torch::Tensor MultiEpochSampler::draw(at::Generator& gen) const {
  const auto opts = torch::TensorOptions().dtype(torch::kInt64);
  std::vector<torch::Tensor> perms;
  for (int64_t e = 0; e < num_epochs_; ++e) perms.push_back(torch::randperm(n_, gen, opts));
  const int64_t remaining = n_ * num_epochs_ - start_itr_ * batch_size_;
  if (remaining <= 0) return torch::empty({0}, opts);  // training already past the last epoch
  const int64_t keep = (remaining + n_ - 1) / n_;     // ceil
  std::vector<torch::Tensor> kept(perms.end() - keep, perms.end());
  kept[0] = kept[0].slice(0, (start_itr_ * batch_size_) % n_);
  return torch::cat(kept);
}

torch::Tensor random_sampler_order(int64_t n) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  return random_sampler_order(n, gen);
}

torch::Tensor random_sampler_order(int64_t n, at::Generator& gen) {
  auto seed = torch::empty({}, torch::kInt64).random_(gen).item<int64_t>();
  at::Generator local = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return torch::randperm(n, local, torch::TensorOptions().dtype(torch::kInt64));
}

void reference_loader_iter_draw() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  reference_loader_iter_draw(gen);
}

void reference_loader_iter_draw(at::Generator& gen) { torch::empty({}, torch::kInt64).random_(gen); }

}  // namespace biggan::data
