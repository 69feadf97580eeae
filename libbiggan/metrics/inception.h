// Inception v3 in the two flavours that image-generation metrics use:
//  - torchvision's `inception_v3` as BigGAN-PyTorch's WrapInception runs it (pool features + 1000
//    logits; input (x+1)/2, ImageNet mean/std, bilinear resize to 299 with align_corners=True);
//  - pytorch-fid's FID-Inception, the TF 2015-12-05 graph that papers' FID numbers come from
//    (FIDInceptionA/C/E_1/E_2 blocks, 1008 classes; resize with align_corners=False, input in [-1, 1]).
// Parameter and buffer names equal the keys of the standard weight files
// (inception_v3_google-0cc3c7bd.pth, pt_inception-2015-12-05-6726825d.pth).
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>

namespace biggan::metrics {

enum class InceptionFlavor { kTorchvision, kFid };

// "torchvision" / "fid".
std::string flavor_name(InceptionFlavor f);
// Parses "torchvision" or "fid"; a clear error otherwise.
InceptionFlavor parse_flavor(const std::string& name);

// conv (no bias) + BatchNorm(eps 1e-3) + ReLU, as torchvision's BasicConv2d. After fold_batchnorm()
// the forward uses one conv with the BN statistics folded into its weight and bias.
class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, torch::ExpandingArray<2> kernel,
                  torch::ExpandingArray<2> stride = 1, torch::ExpandingArray<2> padding = 0);
  torch::Tensor forward(const torch::Tensor& x);
  // Folded weight and bias (computed in float32 from float64 BN arithmetic).
  std::pair<torch::Tensor, torch::Tensor> folded() const;
  void fold_batchnorm();

  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::Tensor fused_weight, fused_bias;  // defined after fold_batchnorm()
  torch::ExpandingArray<2> stride_, padding_;
};
TORCH_MODULE(BasicConv2d);

// Several 1x1 convolutions reading the same input, run as one wider convolution, then split.
// Built from already folded BasicConv2d's; only used for inference.
struct FusedPointwise {
  torch::Tensor weight, bias;
  std::vector<int64_t> splits;
  void build(const std::vector<BasicConv2d>& convs);
  std::vector<torch::Tensor> operator()(const torch::Tensor& x) const;
  bool ready() const { return weight.defined(); }
};

class InceptionV3Impl : public torch::nn::Module {
 public:
  // aux_logits registers torchvision's AuxLogits head (never run at inference) so that its weights load.
  InceptionV3Impl(InceptionFlavor flavor, int64_t num_classes, bool aux_logits);

  struct Output {
    torch::Tensor pool;    // [N, 2048]
    torch::Tensor logits;  // [N, num_classes]
  };
  // Images in [-1, 1], N×3×H×W float32: applies the flavour's input transform (normalisation and
  // resize to 299) and returns pool features and logits.
  Output forward(const torch::Tensor& images);
  // The network proper, on an already transformed 299×299 input.
  Output forward_transformed(const torch::Tensor& x);
  // The flavour's input transform alone.
  torch::Tensor transform_input(const torch::Tensor& images) const;

  // Inference speed-ups that do not change the function: BN folded into convs, sibling 1x1 convs
  // fused. Call after loading weights; eval() mode is implied.
  void prepare_for_inference();

  InceptionFlavor flavor() const { return flavor_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  InceptionFlavor flavor_;
  int64_t num_classes_;
  BasicConv2d Conv2d_1a_3x3{nullptr}, Conv2d_2a_3x3{nullptr}, Conv2d_2b_3x3{nullptr},
      Conv2d_3b_1x1{nullptr}, Conv2d_4a_3x3{nullptr};
  std::vector<std::shared_ptr<torch::nn::Module>> mixed_;  // Mixed_5b .. Mixed_7c in order
  std::shared_ptr<torch::nn::Module> aux_;
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(InceptionV3);

// Copies a state dict (name -> tensor, e.g. from a weights file) into a module with the one checked
// loader (serialization/module_state.h): every parameter and buffer must be present with the right
// shape (BN's num_batches_tracked may be missing), and no key may be left over. Every mismatch is
// reported in one error naming `source`; nothing is changed then.
using TensorDict = torch::OrderedDict<std::string, torch::Tensor>;
void load_into(torch::nn::Module& module, const TensorDict& state, const std::string& source);

// Which flavour a state dict holds (1008-class fc → FID-Inception, 1000-class → torchvision).
InceptionFlavor detect_flavor(const TensorDict& state, const std::string& source);

// A network of the given flavour with its standard head (torchvision: 1000 classes + AuxLogits;
// FID: 1008 classes, no aux), not yet initialised from weights.
InceptionV3 make_inception(InceptionFlavor flavor);

}  // namespace biggan::metrics
