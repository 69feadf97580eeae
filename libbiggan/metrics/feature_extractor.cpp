#include "libbiggan/metrics/feature_extractor.h"

#include <torch/script.h>

#include <cstdlib>
#include <filesystem>

#include "libbiggan/metrics/classifier_extractor.h"
#include "libbiggan/metrics/inception.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/device.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/seeded_generator_scope.h"

namespace biggan::metrics {
namespace {

class InceptionExtractor : public FeatureExtractor {
 public:
  InceptionExtractor(InceptionV3 net, std::string description, bool random, torch::Device device, bool channels_last)
      : net_(std::move(net)), description_(std::move(description)), random_(random), device_(device),
        channels_last_(channels_last) {
    net_->prepare_for_inference();
    net_->to(device_);
  }
  FeatureBatch extract(const torch::Tensor& images) override {
    c10::InferenceMode guard;
    auto x = net_->transform_input(images.to(device_));
    if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto out = net_->forward_transformed(x);
    return {out.pool.to(torch::kCPU), out.logits.to(torch::kCPU)};
  }
  std::string description() const override { return description_; }
  bool random_weights() const override { return random_; }

 private:
  InceptionV3 net_;
  std::string description_;
  bool random_;
  torch::Device device_;
  bool channels_last_;
};

class TorchScriptExtractor : public FeatureExtractor {
 public:
  TorchScriptExtractor(const std::string& path, torch::Device device) : path_(path), device_(device) {
    if (!std::filesystem::exists(path)) throw input_error(path, "no such TorchScript file");
    try {
      module_ = torch::jit::load(path, device);
    } catch (const c10::Error& e) {
      std::string msg = e.what_without_backtrace();
      throw input_error(path, "not a loadable TorchScript module (" + msg.substr(0, msg.find('\n')) + ")");
    }
    module_.eval();
  }
  FeatureBatch extract(const torch::Tensor& images) override {
    c10::InferenceMode guard;
    auto out = module_.forward({images.to(device_)});
    torch::Tensor f;
    if (out.isTensor()) f = out.toTensor();
    else if (out.isTuple() && !out.toTupleRef().elements().empty() && out.toTupleRef().elements()[0].isTensor())
      f = out.toTupleRef().elements()[0].toTensor();
    else if (out.isList() && out.toListRef().size() > 0 && out.toListRef()[0].isTensor())
      f = out.toListRef()[0].toTensor();
    else
      throw input_error(path_, "the module's forward returns neither a tensor nor a tuple/list starting with one");
    if (f.dim() < 1 || f.size(0) != images.size(0))
      throw input_error(path_, "the module returned features without one row per image");
    return {f.reshape({f.size(0), -1}).to(torch::kCPU, torch::kFloat32), {}};
  }
  std::string description() const override { return "torchscript (" + path_ + ")"; }

 private:
  std::string path_;
  torch::Device device_;
  torch::jit::script::Module module_;
};

}  // namespace

std::unique_ptr<FeatureExtractor> make_feature_extractor(const ExtractorOptions& o) {
  const auto device = pick_device(o.device);
  const std::string ts = "torchscript:";
  if (o.network.compare(0, ts.size(), ts) == 0)
    return std::make_unique<TorchScriptExtractor>(o.network.substr(ts.size()), device);
  if (o.network == kClassifierNetwork) return make_classifier_extractor(o.weights, o.random_weights, device);
  if (!o.network.empty() && o.network != "torchvision" && o.network != "fid")
    throw Error("unknown network '" + o.network + "' (expected torchvision, fid, " + kClassifierNetwork +
                " or torchscript:FILE)");

  std::string weights = o.weights;
  const char* env_name = o.network == "fid" ? "BIGGAN_FID_INCEPTION_WEIGHTS" : "BIGGAN_INCEPTION_WEIGHTS";
  if (weights.empty() && !o.random_weights)
    if (const char* env = std::getenv(env_name); env && *env) weights = env;

  if (weights.empty()) {
    if (!o.random_weights)
      throw Error(
          "no Inception weights: pass --inception-weights PATH (torchvision's inception_v3_google-0cc3c7bd.pth or "
          "pytorch-fid's pt_inception-2015-12-05-6726825d.pth) or set " + std::string(env_name) +
          "; --random-weights runs a smoke test whose numbers mean nothing");
    auto flavor = o.network.empty() ? InceptionFlavor::kTorchvision : parse_flavor(o.network);
    SeededGeneratorScope same_network_every_run(0);  // the caller's generator is left where it was
    auto net = make_inception(flavor);
    {
      // He-normal conv weights (BN is the identity at init), so that the features of a random
      // network keep their scale through the 94 layers instead of fading away or exploding.
      torch::NoGradGuard ng;
      for (auto& p : net->named_parameters(true))
        if (p.value().dim() == 4) torch::nn::init::kaiming_normal_(p.value(), 0, torch::kFanIn, torch::kReLU);
    }
    return std::make_unique<InceptionExtractor>(net, flavor_name(flavor) + "-inception (RANDOM WEIGHTS)", true,
                                                device, o.channels_last);
  }
  if (o.random_weights) throw Error("--random-weights and an Inception weights file exclude each other");
  auto state = torchfile::load_state_dict(weights);
  auto flavor = detect_flavor(state, weights);
  if (!o.network.empty() && parse_flavor(o.network) != flavor)
    throw input_error(weights, "holds " + flavor_name(flavor) + "-Inception weights, but --network " + o.network +
                                   " was asked for");
  auto net = make_inception(flavor);
  // torchvision files without the auxiliary head (aux_logits=False exports) are fine too.
  if (flavor == InceptionFlavor::kTorchvision && !state.find("AuxLogits.fc.weight"))
    net = InceptionV3(flavor, 1000, false);
  load_into(*net, state, weights);
  return std::make_unique<InceptionExtractor>(
      net, flavor_name(flavor) + "-inception (" + std::filesystem::path(weights).filename().string() + ")", false,
      device, o.channels_last);
}

}  // namespace biggan::metrics
