#include "libbiggan/metrics/fashion_classifier.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "libbiggan/models/autocast.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/seeded_generator_scope.h"

namespace biggan::metrics {
namespace {

constexpr int64_t kFormatVersion = 1;
namespace F = torch::nn::functional;

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

// One-cycle learning rate (as torch's OneCycleLR with cosine annealing): from max/25 up to max over
// the first 30 % of steps, then down to max/25/1e4.
double one_cycle_lr(int64_t step, int64_t total, double max_lr) {
  const double start = max_lr / 25, end = start / 1e4;
  const double warm = std::max<double>(1, 0.3 * total - 1);
  auto cosine = [](double a, double b, double t) { return b + (a - b) * (1 + std::cos(M_PI * t)) / 2; };
  if (step <= warm) return cosine(start, max_lr, step / warm);
  return cosine(max_lr, end, std::min(1.0, (step - warm) / std::max(1.0, total - 1 - warm)));
}

}  // namespace

bool ClassifierArch::operator==(const ClassifierArch& o) const {
  return image_size == o.image_size && channels == o.channels && feature_dim == o.feature_dim &&
         num_classes == o.num_classes;
}

std::string ClassifierArch::describe() const {
  std::ostringstream s;
  s << "S=" << image_size << " channels=" << channels[0] << "," << channels[1] << "," << channels[2]
    << " features=" << feature_dim << " classes=" << num_classes;
  return s.str();
}

FashionClassifierImpl::FashionClassifierImpl(ClassifierArch arch) : arch_(arch) {
  if (arch.image_size < 8 || arch.image_size % 8)
    throw Error("classifier: image size must be a positive multiple of 8, got " + std::to_string(arch.image_size));
  for (auto c : arch.channels)
    if (c < 1) throw Error("classifier: channel counts must be positive");
  if (arch.feature_dim < 1 || arch.num_classes < 2) throw Error("classifier: bad feature or class count");
  const auto& c = arch.channels;
  conv1_ = register_module("conv1", conv3x3(3, c[0]));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(c[0]));
  conv2_ = register_module("conv2", conv3x3(c[0], c[1]));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(c[1]));
  conv3_ = register_module("conv3", conv3x3(c[1], c[2]));
  bn3_ = register_module("bn3", torch::nn::BatchNorm2d(c[2]));
  const int64_t side = arch.image_size / 8;
  fc_ = register_module("fc", torch::nn::Linear(c[2] * side * side, arch.feature_dim));
  out_ = register_module("out", torch::nn::Linear(arch.feature_dim, arch.num_classes));
}

torch::Tensor FashionClassifierImpl::features(const torch::Tensor& x_in) {
  auto x = classifier_input(x_in);
  if (x.size(2) != arch_.image_size || x.size(3) != arch_.image_size)
    throw Error("classifier: images are " + std::to_string(x.size(2)) + "×" + std::to_string(x.size(3)) +
                " but the classifier was built for " + std::to_string(arch_.image_size) + "×" +
                std::to_string(arch_.image_size));
  x = F::max_pool2d(torch::relu(bn1_(conv1_(x))), F::MaxPool2dFuncOptions(2));
  x = F::max_pool2d(torch::relu(bn2_(conv2_(x))), F::MaxPool2dFuncOptions(2));
  x = F::max_pool2d(torch::relu(bn3_(conv3_(x))), F::MaxPool2dFuncOptions(2));
  // Before the ReLU: no unit is constant zero over a data set, so the feature covariance has full
  // rank and the Fréchet distance sees every dimension.
  return fc_(x.flatten(1));
}

torch::Tensor FashionClassifierImpl::logits_from_features(const torch::Tensor& f) {
  return out_(F::dropout(torch::relu(f), F::DropoutFuncOptions().p(arch_.dropout).training(is_training())));
}

torch::Tensor FashionClassifierImpl::logits(const torch::Tensor& x) { return logits_from_features(features(x)); }

torch::Tensor classifier_input(const torch::Tensor& images, const std::string& what) {
  if (!images.defined() || images.dim() != 4 || (images.size(1) != 3 && images.size(1) != 1))
    throw Error(what + ": expected images N×3×H×W (or N×1×H×W)");
  torch::Tensor x;
  if (images.scalar_type() == torch::kUInt8)
    x = images.to(torch::kFloat32).div_(127.5).sub_(1.0);
  else if (images.is_floating_point())
    x = images.to(torch::kFloat32);
  else
    throw Error(what + ": images must be uint8 (0..255) or floating point in [-1, 1]");
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  return x;
}

FashionClassifier train_classifier(const torch::Tensor& images, const torch::Tensor& labels_in,
                                   const ClassifierTrainOptions& o) {
  const int64_t n = images.size(0);
  if (!labels_in.defined() || labels_in.dim() != 1 || labels_in.size(0) != n)
    throw Error("classifier training: need one label per image");
  auto labels = labels_in.to(torch::kInt64);
  if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= o.arch.num_classes)
    throw Error("classifier training: labels must lie in [0, " + std::to_string(o.arch.num_classes) + ")");
  if (o.batch_size < 2 || n < o.batch_size) throw Error("classifier training: fewer images than one batch");
  classifier_input(images.narrow(0, 0, 1), "classifier training");  // shape / dtype check

  const bool low_precision = o.amp != torch::kFloat;
  if (low_precision && o.amp != torch::kBFloat16)
    throw Error("classifier training: reduced precision is bf16 only (LibTorch's CPU has no fp16 convolution)");
  SeededGeneratorScope seeded(o.seed);  // initialisation and dropout as before; the caller's draws untouched
  auto gen = at::detail::createCPUGenerator(o.seed);
  FashionClassifier model(o.arch);
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.max_lr).weight_decay(o.weight_decay));

  const int64_t per_epoch = n / o.batch_size;  // the last partial batch is dropped
  const int64_t total = per_epoch * o.epochs;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    auto perm = torch::randperm(n, gen, torch::kInt64);
    double loss_sum = 0;
    for (int64_t b = 0; b < per_epoch; ++b, ++step) {
      auto idx = perm.narrow(0, b * o.batch_size, o.batch_size);
      auto x = classifier_input(images.index_select(0, idx));
      if (o.flip) {
        auto flip = torch::rand({o.batch_size}, gen) < 0.5;
        x = torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
      }
      if (low_precision) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamOptions&>(g.options()).lr(one_cycle_lr(step, total, o.max_lr));
      opt.zero_grad();
      torch::Tensor logits;
      {
        AutocastScope autocast(torch::kCPU, o.amp);  // nothing under float32
        logits = model->logits(x);
      }
      auto loss = F::cross_entropy(logits.to(torch::kFloat), labels.index_select(0, idx));
      loss.backward();
      opt.step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) throw Error("classifier training: the loss became " + std::to_string(l));
      loss_sum += l;
      if (o.progress_every > 0 && o.on_step && (step + 1) % o.progress_every == 0) o.on_step(step + 1, total, l);
    }
    if (o.on_epoch)
      o.on_epoch(epoch, loss_sum / per_epoch,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  model->eval();
  return model;
}

void save_classifier(const std::string& path, FashionClassifier& model) {
  torchfile::StateDict sd;
  for (auto& p : model->named_parameters()) sd.insert(p.key(), p.value().detach());
  for (auto& b : model->named_buffers()) sd.insert(b.key(), b.value().detach());
  const auto& a = model->arch();
  sd.insert("arch.format_version", torch::tensor(kFormatVersion, torch::kInt64));
  sd.insert("arch.image_size", torch::tensor(a.image_size, torch::kInt64));
  sd.insert("arch.channels", torch::tensor({a.channels[0], a.channels[1], a.channels[2]}, torch::kInt64));
  sd.insert("arch.feature_dim", torch::tensor(a.feature_dim, torch::kInt64));
  sd.insert("arch.num_classes", torch::tensor(a.num_classes, torch::kInt64));
  torchfile::save_state_dict(path, sd);
}

FashionClassifier load_classifier(const std::string& path) {
  auto sd = torchfile::load_state_dict(path);
  auto entry = [&](const std::string& key, int64_t numel) {
    auto* t = sd.find(key);
    if (!t)
      throw input_error(path, "not a Fashion-MNIST classifier file (no '" + key +
                                  "' entry; write one with `fashion-classifier train`)");
    if (t->numel() != numel || t->is_floating_point())
      throw input_error(path, "entry '" + key + "' is not " + std::to_string(numel) + " integer(s)");
    return t->to(torch::kInt64).flatten();
  };
  const int64_t version = entry("arch.format_version", 1)[0].item<int64_t>();
  if (version != kFormatVersion)
    throw input_error(path, "classifier file format version " + std::to_string(version) + " (this build reads " +
                                std::to_string(kFormatVersion) + ")");
  ClassifierArch a;
  a.image_size = entry("arch.image_size", 1)[0].item<int64_t>();
  auto ch = entry("arch.channels", 3);
  for (int i = 0; i < 3; ++i) a.channels[i] = ch[i].item<int64_t>();
  a.feature_dim = entry("arch.feature_dim", 1)[0].item<int64_t>();
  a.num_classes = entry("arch.num_classes", 1)[0].item<int64_t>();
  FashionClassifier model(nullptr);
  try {
    model = FashionClassifier(a);
  } catch (const Error& e) {
    throw input_error(path, std::string("bad architecture entries: ") + e.what());
  }
  StateDictLoadOptions options;
  options.file_only_key = [](const std::string& key) { return key.rfind("arch.", 0) == 0; };
  options.into = "a classifier with " + a.describe() + " (the architecture the file records)";
  load_state_dict(*model, sd, path, options);
  model->eval();
  return model;
}

LabeledImages read_labeled_images(const std::string& path, bool require_labels, int64_t limit) {
  auto f = h5::File::open_read(path);
  std::string img_name = f.exists("imgs") ? "imgs" : f.exists("images") ? "images" : "";
  if (img_name.empty()) throw input_error(path, "has no 'imgs' (uint8) or 'images' (float in [-1, 1]) dataset");
  auto shape = f.shape(img_name);
  if (shape.size() != 4 || (shape[1] != 3 && shape[1] != 1))
    throw input_error(path, "'" + img_name + "' is not N×3×H×W");
  const int64_t n = limit > 0 ? std::min(limit, shape[0]) : shape[0];
  LabeledImages out;
  out.images = f.read_rows(img_name, 0, n);
  if (!out.images.is_floating_point() && out.images.scalar_type() != torch::kUInt8)
    throw input_error(path, "'" + img_name + "' must be uint8 or floating point");
  std::string lab_name = f.exists("labels") ? "labels" : f.exists("y") ? "y" : "";
  if (lab_name.empty()) {
    if (require_labels) throw input_error(path, "has no 'labels' or 'y' dataset");
    return out;
  }
  auto lshape = f.shape(lab_name);
  if (lshape.size() != 1 || lshape[0] < n)
    throw input_error(path, "'" + lab_name + "' must hold one label per image");
  out.labels = f.read_rows(lab_name, 0, n);
  if (out.labels.is_floating_point()) throw input_error(path, "'" + lab_name + "' must hold integers");
  out.labels = out.labels.to(torch::kInt64);
  return out;
}

}  // namespace biggan::metrics
