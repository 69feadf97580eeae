// Flat buffers for element-wise updates (Adam, the EMA): tensors placed end to end in one buffer,
// each a view of it, so that one tensor op over the buffer updates them all. The values stay the
// same; only where they are stored changes.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace biggan {

struct FlatViews {
  torch::Tensor buffer;              // 1-D, the tensors' values end to end, in order
  std::vector<torch::Tensor> views;  // views[i]: tensors[i]'s place in `buffer`, in its shape
};

// Copies `tensors` (any shapes, one dtype and device) into one new buffer and returns it with the
// view of each. The caller installs the views (set_data on a module's tensor, a .grad, a state).
FlatViews concatenate_as_views(const std::vector<torch::Tensor>& tensors);

// Moves `tensors` into one new buffer: each tensor (the same object, so modules keep theirs) keeps
// its values and becomes a view of the buffer. Returns the buffer (undefined for no tensors).
torch::Tensor gather_into_one_buffer(const std::vector<torch::Tensor>& tensors);

// Whether `t` is the contiguous view of `buffer` that starts `offset` elements into it.
bool is_view_at(const torch::Tensor& t, const torch::Tensor& buffer, int64_t offset);

// Whether `b` starts where `a` ends in the same storage (both contiguous, of one dtype).
bool follows(const torch::Tensor& a, const torch::Tensor& b);

// `first` and the `numel` elements after it in its storage, as one flat tensor.
torch::Tensor span_from(const torch::Tensor& first, int64_t numel);

}  // namespace biggan
