#include "libbiggan/training/flat_buffer.h"

namespace biggan {

FlatViews concatenate_as_views(const std::vector<torch::Tensor>& tensors) {
  FlatViews out;
  if (tensors.empty()) return out;
  std::vector<torch::Tensor> parts;
  parts.reserve(tensors.size());
  for (const auto& t : tensors) parts.push_back(t.detach().reshape({-1}));
  out.buffer = torch::cat(parts);
  out.views.reserve(tensors.size());
  int64_t offset = 0;
  for (const auto& t : tensors) {
    out.views.push_back(out.buffer.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
  return out;
}

torch::Tensor gather_into_one_buffer(const std::vector<torch::Tensor>& tensors) {
  auto flat = concatenate_as_views(tensors);
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto t = tensors[i];  // shares the TensorImpl: set_data reaches the caller's (and the module's) tensor
    t.set_data(flat.views[i]);
  }
  return flat.buffer;
}

bool is_view_at(const torch::Tensor& t, const torch::Tensor& buffer, int64_t offset) {
  return t.defined() && t.scalar_type() == buffer.scalar_type() && t.is_contiguous() &&
         t.storage().unsafeGetStorageImpl() == buffer.storage().unsafeGetStorageImpl() &&
         t.storage_offset() == buffer.storage_offset() + offset;
}

bool follows(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.is_contiguous() && b.is_contiguous() &&
         a.storage().unsafeGetStorageImpl() == b.storage().unsafeGetStorageImpl() &&
         b.storage_offset() == a.storage_offset() + a.numel();
}

torch::Tensor span_from(const torch::Tensor& first, int64_t numel) {
  return torch::empty({0}, first.options()).set_(first.storage(), first.storage_offset(), {numel}, {1});
}

}  // namespace biggan
