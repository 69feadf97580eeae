#include "libbiggan/metrics/inception.h"

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/util/error.h"

namespace biggan::metrics {

namespace F = torch::nn::functional;

std::string flavor_name(InceptionFlavor f) { return f == InceptionFlavor::kFid ? "fid" : "torchvision"; }

InceptionFlavor parse_flavor(const std::string& name) {
  if (name == "torchvision") return InceptionFlavor::kTorchvision;
  if (name == "fid") return InceptionFlavor::kFid;
  throw Error("unknown Inception network '" + name + "' (expected torchvision or fid)");
}

// ---------------------------------------------------------------------------------------------
BasicConv2dImpl::BasicConv2dImpl(int64_t in, int64_t out, torch::ExpandingArray<2> kernel,
                                 torch::ExpandingArray<2> stride, torch::ExpandingArray<2> padding)
    : stride_(stride), padding_(padding) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(0.001)));
}

std::pair<torch::Tensor, torch::Tensor> BasicConv2dImpl::folded() const {
  torch::NoGradGuard ng;
  auto rv = bn->running_var.to(torch::kFloat64), rm = bn->running_mean.to(torch::kFloat64);
  auto scale = bn->weight.to(torch::kFloat64) / torch::sqrt(rv + bn->options.eps());
  auto w = conv->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1});
  auto b = bn->bias.to(torch::kFloat64) - rm * scale;
  return {w.to(conv->weight.dtype()).contiguous(), b.to(conv->weight.dtype()).contiguous()};
}

void BasicConv2dImpl::fold_batchnorm() { std::tie(fused_weight, fused_bias) = folded(); }

torch::Tensor BasicConv2dImpl::forward(const torch::Tensor& x) {
  if (fused_weight.defined())
    return torch::conv2d(x, fused_weight, fused_bias, stride_, padding_).relu_();
  return torch::relu(bn->forward(conv->forward(x)));
}

void FusedPointwise::build(const std::vector<BasicConv2d>& convs) {
  std::vector<torch::Tensor> ws, bs;
  splits.clear();
  for (auto& c : convs) {
    auto [w, b] = c->folded();
    ws.push_back(w);
    bs.push_back(b);
    splits.push_back(w.size(0));
  }
  weight = torch::cat(ws, 0).contiguous();
  bias = torch::cat(bs, 0).contiguous();
}

std::vector<torch::Tensor> FusedPointwise::operator()(const torch::Tensor& x) const {
  auto y = torch::conv2d(x, weight, bias).relu_();
  return y.split_with_sizes(splits, 1);
}

namespace {

// Pooling in the `branch_pool` path: torchvision averages with the zero padding counted; the TF
// graph averages over the valid pixels only; its last block (FIDInceptionE_2) max-pools instead.
enum class BranchPool { kAvgIncludePad, kAvgExcludePad, kMax };

torch::Tensor branch_pool(const torch::Tensor& x, BranchPool p) {
  if (p == BranchPool::kMax) return torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
  return torch::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false, p == BranchPool::kAvgIncludePad);
}

// An Inception block: forward and the inference preparation (BN folding, 1x1 fusion).
struct Block : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual void prepare() = 0;
  BasicConv2d conv(const std::string& name, int64_t in, int64_t out, torch::ExpandingArray<2> k,
                   torch::ExpandingArray<2> s = 1, torch::ExpandingArray<2> p = 0) {
    return register_module(name, BasicConv2d(in, out, k, s, p));
  }
  void fold_all() {
    for (auto& m : modules(false))
      if (auto* c = dynamic_cast<BasicConv2dImpl*>(m.get())) c->fold_batchnorm();
  }
};

struct InceptionA : Block {
  BasicConv2d b1, b5_1, b5_2, d1, d2, d3, bp;
  BranchPool pool;
  FusedPointwise fused;
  InceptionA(int64_t in, int64_t pool_features, BranchPool p)
      : b1(conv("branch1x1", in, 64, 1)),
        b5_1(conv("branch5x5_1", in, 48, 1)),
        b5_2(conv("branch5x5_2", 48, 64, 5, 1, 2)),
        d1(conv("branch3x3dbl_1", in, 64, 1)),
        d2(conv("branch3x3dbl_2", 64, 96, 3, 1, 1)),
        d3(conv("branch3x3dbl_3", 96, 96, 3, 1, 1)),
        bp(conv("branch_pool", in, pool_features, 1)),
        pool(p) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor o1, o5, od;
    if (fused.ready()) {
      auto s = fused(x);
      o1 = s[0], o5 = s[1], od = s[2];
    } else {
      o1 = b1(x), o5 = b5_1(x), od = d1(x);
    }
    return torch::cat({o1, b5_2(o5), d3(d2(od)), bp(branch_pool(x, pool))}, 1);
  }
  void prepare() override {
    fold_all();
    fused.build({b1, b5_1, d1});
  }
};

struct InceptionB : Block {
  BasicConv2d b3, d1, d2, d3;
  explicit InceptionB(int64_t in)
      : b3(conv("branch3x3", in, 384, 3, 2)),
        d1(conv("branch3x3dbl_1", in, 64, 1)),
        d2(conv("branch3x3dbl_2", 64, 96, 3, 1, 1)),
        d3(conv("branch3x3dbl_3", 96, 96, 3, 2)) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    return torch::cat({b3(x), d3(d2(d1(x))), torch::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }
  void prepare() override { fold_all(); }
};

struct InceptionC : Block {
  BasicConv2d b1, s1, s2, s3, d1, d2, d3, d4, d5, bp;
  BranchPool pool;
  FusedPointwise fused;
  InceptionC(int64_t in, int64_t c7, BranchPool p)
      : b1(conv("branch1x1", in, 192, 1)),
        s1(conv("branch7x7_1", in, c7, 1)),
        s2(conv("branch7x7_2", c7, c7, {1, 7}, 1, {0, 3})),
        s3(conv("branch7x7_3", c7, 192, {7, 1}, 1, {3, 0})),
        d1(conv("branch7x7dbl_1", in, c7, 1)),
        d2(conv("branch7x7dbl_2", c7, c7, {7, 1}, 1, {3, 0})),
        d3(conv("branch7x7dbl_3", c7, c7, {1, 7}, 1, {0, 3})),
        d4(conv("branch7x7dbl_4", c7, c7, {7, 1}, 1, {3, 0})),
        d5(conv("branch7x7dbl_5", c7, 192, {1, 7}, 1, {0, 3})),
        bp(conv("branch_pool", in, 192, 1)),
        pool(p) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor o1, os, od;
    if (fused.ready()) {
      auto s = fused(x);
      o1 = s[0], os = s[1], od = s[2];
    } else {
      o1 = b1(x), os = s1(x), od = d1(x);
    }
    return torch::cat({o1, s3(s2(os)), d5(d4(d3(d2(od)))), bp(branch_pool(x, pool))}, 1);
  }
  void prepare() override {
    fold_all();
    fused.build({b1, s1, d1});
  }
};

struct InceptionD : Block {
  BasicConv2d a1, a2, s1, s2, s3, s4;
  FusedPointwise fused;
  explicit InceptionD(int64_t in)
      : a1(conv("branch3x3_1", in, 192, 1)),
        a2(conv("branch3x3_2", 192, 320, 3, 2)),
        s1(conv("branch7x7x3_1", in, 192, 1)),
        s2(conv("branch7x7x3_2", 192, 192, {1, 7}, 1, {0, 3})),
        s3(conv("branch7x7x3_3", 192, 192, {7, 1}, 1, {3, 0})),
        s4(conv("branch7x7x3_4", 192, 192, 3, 2)) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor oa, os;
    if (fused.ready()) {
      auto s = fused(x);
      oa = s[0], os = s[1];
    } else {
      oa = a1(x), os = s1(x);
    }
    return torch::cat({a2(oa), s4(s3(s2(os))), torch::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }
  void prepare() override {
    fold_all();
    fused.build({a1, s1});
  }
};

struct InceptionE : Block {
  BasicConv2d b1, t1, t2a, t2b, d1, d2, d3a, d3b, bp;
  BranchPool pool;
  FusedPointwise fused;
  InceptionE(int64_t in, BranchPool p)
      : b1(conv("branch1x1", in, 320, 1)),
        t1(conv("branch3x3_1", in, 384, 1)),
        t2a(conv("branch3x3_2a", 384, 384, {1, 3}, 1, {0, 1})),
        t2b(conv("branch3x3_2b", 384, 384, {3, 1}, 1, {1, 0})),
        d1(conv("branch3x3dbl_1", in, 448, 1)),
        d2(conv("branch3x3dbl_2", 448, 384, 3, 1, 1)),
        d3a(conv("branch3x3dbl_3a", 384, 384, {1, 3}, 1, {0, 1})),
        d3b(conv("branch3x3dbl_3b", 384, 384, {3, 1}, 1, {1, 0})),
        bp(conv("branch_pool", in, 192, 1)),
        pool(p) {}
  torch::Tensor forward(const torch::Tensor& x) override {
    torch::Tensor o1, ot, od;
    if (fused.ready()) {
      auto s = fused(x);
      o1 = s[0], ot = s[1], od = s[2];
    } else {
      o1 = b1(x), ot = t1(x), od = d1(x);
    }
    od = d2(od);
    return torch::cat({o1, t2a(ot), t2b(ot), d3a(od), d3b(od), bp(branch_pool(x, pool))}, 1);
  }
  void prepare() override {
    fold_all();
    fused.build({b1, t1, d1});
  }
};

// torchvision's auxiliary classifier: only its weights matter here (it runs in training only).
struct InceptionAux : Block {
  InceptionAux(int64_t in, int64_t num_classes) {
    conv("conv0", in, 128, 1);
    conv("conv1", 128, 768, 5);
    register_module("fc", torch::nn::Linear(768, num_classes));
  }
  torch::Tensor forward(const torch::Tensor&) override {
    throw Error("the Inception auxiliary classifier is not used for inference");
  }
  void prepare() override {}
};

}  // namespace

// ---------------------------------------------------------------------------------------------
InceptionV3Impl::InceptionV3Impl(InceptionFlavor flavor, int64_t num_classes, bool aux_logits)
    : flavor_(flavor), num_classes_(num_classes) {
  const bool fid = flavor == InceptionFlavor::kFid;
  const BranchPool avg = fid ? BranchPool::kAvgExcludePad : BranchPool::kAvgIncludePad;
  Conv2d_1a_3x3 = register_module("Conv2d_1a_3x3", BasicConv2d(3, 32, 3, 2));
  Conv2d_2a_3x3 = register_module("Conv2d_2a_3x3", BasicConv2d(32, 32, 3));
  Conv2d_2b_3x3 = register_module("Conv2d_2b_3x3", BasicConv2d(32, 64, 3, 1, 1));
  Conv2d_3b_1x1 = register_module("Conv2d_3b_1x1", BasicConv2d(64, 80, 1));
  Conv2d_4a_3x3 = register_module("Conv2d_4a_3x3", BasicConv2d(80, 192, 3));
  auto add = [&](const std::string& name, std::shared_ptr<torch::nn::Module> m) {
    mixed_.push_back(register_module(name, m));
  };
  add("Mixed_5b", std::make_shared<InceptionA>(192, 32, avg));
  add("Mixed_5c", std::make_shared<InceptionA>(256, 64, avg));
  add("Mixed_5d", std::make_shared<InceptionA>(288, 64, avg));
  add("Mixed_6a", std::make_shared<InceptionB>(288));
  add("Mixed_6b", std::make_shared<InceptionC>(768, 128, avg));
  add("Mixed_6c", std::make_shared<InceptionC>(768, 160, avg));
  add("Mixed_6d", std::make_shared<InceptionC>(768, 160, avg));
  add("Mixed_6e", std::make_shared<InceptionC>(768, 192, avg));
  if (aux_logits) aux_ = register_module("AuxLogits", std::make_shared<InceptionAux>(768, num_classes));
  add("Mixed_7a", std::make_shared<InceptionD>(768));
  add("Mixed_7b", std::make_shared<InceptionE>(1280, avg));
  add("Mixed_7c", std::make_shared<InceptionE>(2048, fid ? BranchPool::kMax : avg));
  fc = register_module("fc", torch::nn::Linear(2048, num_classes));
}

torch::Tensor InceptionV3Impl::transform_input(const torch::Tensor& images) const {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "Inception expects N×3×H×W images, got ",
              images.sizes());
  auto x = images.to(torch::kFloat32);
  const std::vector<int64_t> size{299, 299};
  if (flavor_ == InceptionFlavor::kTorchvision) {
    // WrapInception: (x+1)/2, ImageNet normalisation, then resize only when not already 299².
    auto mean = torch::tensor({0.485f, 0.456f, 0.406f}, x.options()).view({1, 3, 1, 1});
    auto std = torch::tensor({0.229f, 0.224f, 0.225f}, x.options()).view({1, 3, 1, 1});
    x = ((x + 1.f) / 2.f - mean) / std;
    if (x.size(2) != 299 || x.size(3) != 299)
      x = F::interpolate(x, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(true));
    return x;
  }
  // pytorch-fid fed images in [0, 1]: resize (always), then scale to [-1, 1].
  x = (x + 1.f) / 2.f;
  x = F::interpolate(x, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
  return 2.f * x - 1.f;
}

InceptionV3Impl::Output InceptionV3Impl::forward(const torch::Tensor& images) {
  return forward_transformed(transform_input(images));
}

InceptionV3Impl::Output InceptionV3Impl::forward_transformed(const torch::Tensor& input) {
  auto x = Conv2d_1a_3x3(input);
  x = Conv2d_2a_3x3(x);
  x = Conv2d_2b_3x3(x);
  x = torch::max_pool2d(x, {3, 3}, {2, 2});
  x = Conv2d_3b_1x1(x);
  x = Conv2d_4a_3x3(x);
  x = torch::max_pool2d(x, {3, 3}, {2, 2});
  for (auto& m : mixed_) x = static_cast<Block&>(*m).forward(x);
  Output out;
  out.pool = x.mean({2, 3});
  out.logits = fc(out.pool);
  return out;
}

void InceptionV3Impl::prepare_for_inference() {
  eval();
  for (auto* c : {&Conv2d_1a_3x3, &Conv2d_2a_3x3, &Conv2d_2b_3x3, &Conv2d_3b_1x1, &Conv2d_4a_3x3})
    (*c)->fold_batchnorm();
  for (auto& m : mixed_) static_cast<Block&>(*m).prepare();
}

// ---------------------------------------------------------------------------------------------
void load_into(torch::nn::Module& module, const TensorDict& state, const std::string& source) {
  StateDictLoadOptions options;
  // torchvision's files from before BatchNorm counted its batches lack num_batches_tracked.
  options.optional_key = [](const std::string& key) {
    static const std::string kCounter = "num_batches_tracked";
    return key.size() >= kCounter.size() && key.compare(key.size() - kCounter.size(), kCounter.size(), kCounter) == 0;
  };
  options.into = "an Inception v3 network";
  load_state_dict(module, state, source, options);
}

InceptionFlavor detect_flavor(const TensorDict& state, const std::string& source) {
  const torch::Tensor* fc = state.find("fc.weight");
  if (!fc || fc->dim() != 2 || !state.find("Mixed_7c.branch_pool.conv.weight"))
    throw input_error(source, "not an Inception v3 state dict (no fc.weight / Mixed_7c)");
  if (fc->size(0) == 1008) return InceptionFlavor::kFid;
  return InceptionFlavor::kTorchvision;
}

InceptionV3 make_inception(InceptionFlavor flavor) {
  if (flavor == InceptionFlavor::kFid) return InceptionV3(flavor, 1008, false);
  return InceptionV3(flavor, 1000, true);
}

}  // namespace biggan::metrics
