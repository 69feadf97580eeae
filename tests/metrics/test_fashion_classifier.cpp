// The Fashion-MNIST classifier (the embedded default's yardstick): training reaches a meaningful
// accuracy, is deterministic, survives a save/load round trip (and a mismatched file is a clear
// error), and the scores (classifier-FID, IS-style, conditional accuracy) are right on inputs whose
// answers can be worked out by hand. The tool runs end to end on a small synthetic set.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <iostream>

#include "libbiggan/data/idx_file.h"
#include "libbiggan/metrics/fashion_classifier.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"
#include "tests/metrics/fashion_test_data.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;
using biggan::test::fashion_dir;
using biggan::test::fashion_split;
using biggan::test::fashion_subset_classifier;
using biggan::test::OneThread;

namespace {

// A synthetic 10-class set: class k is a bright 8×8 square in cell k of a 4×4 grid of 8×8 cells on
// a noisy dark background. Easy, but only for a working classifier. (Trained without flips: a
// mirror image would move the square to another class's cell.)
std::pair<torch::Tensor, torch::Tensor> synthetic_set(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto labels = torch::randint(0, 10, {n}, gen, torch::kInt64);
  auto imgs = (torch::rand({n, 1, 32, 32}, gen) * 60).to(torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = labels[i].item<int64_t>();
    int64_t y = (k / 4) * 8, x = (k % 4) * 8;
    imgs[i].narrow(1, y, 8).narrow(2, x, 8).fill_(230);
  }
  return {imgs.repeat({1, 3, 1, 1}), labels};
}

ClassifierArch tiny_arch() {
  ClassifierArch a;
  a.channels = {8, 16, 16};
  a.feature_dim = 32;
  return a;
}

void write_h5(const std::filesystem::path& p, const std::string& img_name, const torch::Tensor& imgs,
              const std::string& label_name, const torch::Tensor& labels) {
  auto f = h5::File::create(p.string());
  f.write(img_name, imgs.contiguous());
  if (labels.defined()) f.write(label_name, labels.contiguous());
  f.close();
}

// The synthetic set's training: the tiny architecture, 4 epochs of 32, no flips, seed 7.
ClassifierTrainOptions synthetic_training() {
  ClassifierTrainOptions o;
  o.arch = tiny_arch();
  o.epochs = 4;
  o.batch_size = 32;
  o.flip = false;
  o.seed = 7;
  return o;
}

}  // namespace

TEST_CASE("classifier learns the synthetic set and is deterministic") {
  OneThread one;
  auto [x, y] = synthetic_set(1024, 1);
  auto [xt, yt] = synthetic_set(500, 2);
  ClassifierTrainOptions o = synthetic_training();
  auto a = train_classifier(x, y, o);
  const double acc = classifier_accuracy(a, xt, yt);
  std::cout << "  synthetic set: test accuracy " << acc << "\n";
  CHECK(acc > 0.95);
  auto b = train_classifier(x, y, o);
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (auto& p : pa) CHECK(torch::equal(p.value(), pb[p.key()]));
  o.seed = 8;
  auto c = train_classifier(x, y, o);
  CHECK_FALSE(torch::equal(c->named_parameters()["conv1.weight"], pa["conv1.weight"]));
  // features / logits shapes; uint8 and [-1, 1] float inputs are the same images.
  torch::NoGradGuard ng;
  auto f = a->features(xt.narrow(0, 0, 5));
  CHECK(f.sizes() == torch::IntArrayRef({5, 32}));
  CHECK(a->logits(xt.narrow(0, 0, 5)).sizes() == torch::IntArrayRef({5, 10}));
  auto xf = xt.narrow(0, 0, 5).to(torch::kFloat32) / 127.5 - 1;
  CHECK(torch::allclose(a->features(xf), f));
  CHECK_THROWS_AS(a->features(torch::zeros({2, 3, 28, 28})), Error);
  // classify in uneven batches = one batch.
  auto out1 = classify(a, xt, 7), out2 = classify(a, xt, 500);
  CHECK(torch::allclose(out1.features, out2.features, 1e-5, 1e-5));
  CHECK(torch::equal(out1.predicted, out2.predicted));
}

TEST_CASE("classifier trained in bf16: learns as float32 does, keeps float32 weights, ran in bf16") {
  OneThread one;
  auto [x, y] = synthetic_set(1024, 1);
  auto [xt, yt] = synthetic_set(500, 2);
  ClassifierTrainOptions o = synthetic_training();
  auto fp32 = train_classifier(x, y, o);
  o.amp = torch::kBFloat16;
  auto bf16 = train_classifier(x, y, o);
  const double acc = classifier_accuracy(bf16, xt, yt);
  std::cout << "  synthetic set, bf16 training: test accuracy " << acc << "\n";
  CHECK(acc > 0.95);
  // The weights stay float32 (what save_classifier writes and scoring reads) and are not float32's:
  // the products ran in bf16 (an ignored option would give float32's weights to the bit).
  auto p16 = bf16->named_parameters(), p32 = fp32->named_parameters();
  for (auto& p : p16) CHECK(p.value().scalar_type() == torch::kFloat);
  CHECK_FALSE(torch::equal(p16["conv1.weight"], p32["conv1.weight"]));
  // ... but close to them after 128 steps (bf16 keeps 8 bits of mantissa: relative 4e-3 a product).
  const double rel = (p16["out.weight"] - p32["out.weight"]).norm().item<double>() /
                     p32["out.weight"].norm().item<double>();
  std::cout << "  bf16 against float32 training, out.weight: relative difference " << rel << "\n";
  CHECK(rel < 0.2);
  o.amp = torch::kHalf;
  CHECK_THROWS_AS(train_classifier(x, y, o), Error);
}

TEST_CASE("classifier reaches > 75 % on a 2,000-image Fashion-MNIST subset") {
  if (!std::filesystem::exists(fashion_dir())) {
    BIGGAN_SKIP("Debian's dataset-fashion-mnist is not installed (" << fashion_dir()
                                                                  << "): the Fashion-MNIST subset check");
    return;
  }
  std::cout << "case fashion-mnist subset (train 2000, test 2000)\n";
  OneThread one;
  auto [xt, yt] = fashion_split("test", 2000);
  double secs = 0;
  auto model = fashion_subset_classifier(&secs);  // the default architecture, 6 epochs, seed 0
  const double acc = classifier_accuracy(model, xt, yt);
  std::cout << "  Fashion-MNIST subset: test accuracy " << acc << " after " << secs << " s\n";
  CHECK(acc > 0.75);
}

TEST_CASE("classifier file: round trip, Python-readable, mismatches are clear errors") {
  test::TempDir dir;
  torch::manual_seed(3);
  FashionClassifier model(tiny_arch());
  model->eval();
  auto x = torch::rand({4, 3, 32, 32}) * 2 - 1;
  // Make the BN statistics non-trivial so that buffers are known to travel too.
  {
    torch::NoGradGuard ng;
    for (auto& b : model->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().fill_(2.0);
  }
  auto path = (dir / "clf.pth").string();
  save_classifier(path, model);
  auto back = load_classifier(path);
  CHECK(back->arch() == model->arch());
  torch::NoGradGuard ng;
  CHECK(torch::equal(back->logits(x), model->logits(x)));

  // The file is a plain state dict with the architecture entries.
  auto sd = torchfile::load_state_dict(path);
  REQUIRE(sd.find("arch.channels") != nullptr);
  CHECK(torch::equal(*sd.find("arch.channels"), torch::tensor({8, 16, 16}, torch::kInt64)));

  // Python's torch.load reads it.
  if (test::run_shell("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    BIGGAN_SKIP("python3 with torch not found: the torch.load check of the classifier file");
  } else {
    std::string cmd = "/usr/bin/python3 -c \"import torch; torch.set_num_threads(1); sd = torch.load('" + path +
                      "'); assert sd['arch.feature_dim'].item() == 32, sd.keys(); "
                      "assert tuple(sd['fc.weight'].shape) == (32, 256)\"";
    CHECK(test::run_shell(cmd) == 0);
  }

  // A file whose architecture entries disagree with its tensors.
  auto bad = sd;
  bad[std::string("arch.feature_dim")] = torch::tensor(int64_t{64});
  torchfile::save_state_dict((dir / "mismatch.pth").string(), bad);
  CHECK_THROWS_WITH(load_classifier((dir / "mismatch.pth").string()),
                    Catch::Contains("mismatch.pth") && Catch::Contains("fc.weight") && Catch::Contains("features=64"));
  // A state dict that is not a classifier at all.
  torchfile::StateDict other;
  other.insert("weight", torch::zeros({3}));
  torchfile::save_state_dict((dir / "other.pth").string(), other);
  CHECK_THROWS_WITH(load_classifier((dir / "other.pth").string()),
                    Catch::Contains("other.pth") && Catch::Contains("not a Fashion-MNIST classifier"));
  // An extra tensor is reported.
  auto extra = sd;
  extra.insert("head.weight", torch::zeros({2}));
  torchfile::save_state_dict((dir / "extra.pth").string(), extra);
  CHECK_THROWS_WITH(load_classifier((dir / "extra.pth").string()), Catch::Contains("head.weight"));
}

TEST_CASE("scores on hand-checkable inputs") {
  // 100 samples: one-hot predictions cycling through the 10 classes, so each of the 10 splits
  // (10 rows) holds every class once: marginal uniform, KL = log 10 per row -> IS = 10 exactly.
  ClassifierOutputs out;
  const int64_t n = 100, d = 4;
  auto cls = torch::arange(n, torch::kInt64) % 10;
  out.probs = torch::one_hot(cls, 10).to(torch::kFloat64);
  out.predicted = out.probs.argmax(1);
  auto gen = at::detail::createCPUGenerator(5);
  out.features = torch::randn({n, d}, gen, torch::kFloat64);
  auto real = moments_of(out.features);

  // Labels: all right except 10 samples of class 3 and 5 of class 7 relabelled wrongly.
  auto labels = cls.clone();
  labels.index_put_({cls.eq(3)}, 4);
  auto seven = cls.eq(7).nonzero().flatten().narrow(0, 0, 5);
  labels.index_put_({seven}, 0);
  auto s = scores_from_outputs(out, real, labels, 10);
  CHECK(s.count == n);
  CHECK(s.fid == Approx(0).margin(1e-9));  // the same moments
  CHECK(s.is.mean == Approx(10.0).epsilon(1e-12));
  CHECK(s.is.std == Approx(0).margin(1e-12));
  CHECK(s.is.splits == 10);
  REQUIRE(s.has_labels);
  // Wrong: the 10 class-3 images now labelled 4, the 5 class-7 images labelled 0 -> 85 % right.
  CHECK(s.conditional_accuracy == Approx(0.85));
  REQUIRE(s.per_class_accuracy.size() == 10);
  CHECK(std::isnan(s.per_class_accuracy[3]));  // no sample carries label 3 any more
  CHECK(s.per_class_count[4] == 20);
  CHECK(s.per_class_accuracy[4] == Approx(0.5));    // 10 of its 20 are class 4
  CHECK(s.per_class_accuracy[0] == Approx(10.0 / 15));
  CHECK(s.per_class_accuracy[1] == Approx(1.0));

  // Features shifted by c in every dimension: FID = d c² exactly (same covariance).
  auto shifted = out;
  shifted.features = out.features + 0.5;
  CHECK(scores_from_outputs(shifted, real, {}, 10).fid == Approx(d * 0.25).epsilon(1e-9));
  // Features scaled by 2: FID = tr(S) + tr(4S) - 2 tr(2S) + |mu|² (2-1)² = tr(S) + |mu|².
  auto scaled = out;
  scaled.features = out.features * 2;
  const double expect = real.sigma.trace().item<double>() + real.mu.dot(real.mu).item<double>();
  CHECK(scores_from_outputs(scaled, real, {}, 10).fid == Approx(expect).epsilon(1e-9));

  // Uniform predictions: IS = 1. No labels: no conditional accuracy.
  auto uniform = out;
  uniform.probs = torch::full({n, 10}, 0.1, torch::kFloat64);
  auto u = scores_from_outputs(uniform, real, {}, 10);
  CHECK(u.is.mean == Approx(1.0));
  CHECK_FALSE(u.has_labels);
  auto j = scores_to_json(s);
  CHECK(j["conditional_accuracy"].as_double() == Approx(0.85));
  CHECK(j["per_class_accuracy"].as_array()[3].is_null());
  CHECK(j["IS_mean"].as_double() == Approx(10.0));

  CHECK_THROWS_AS(scores_from_outputs(out, real, labels.narrow(0, 0, 5), 10), Error);
  CHECK_THROWS_AS(scores_from_outputs(out, real, labels + 10, 10), Error);
}

TEST_CASE("read_labeled_images: both layouts and clear errors") {
  test::TempDir dir;
  auto [x, y] = synthetic_set(12, 3);
  write_h5(dir / "u8.h5", "imgs", x, "labels", y);
  auto xf = x.to(torch::kFloat32) / 127.5 - 1;
  write_h5(dir / "f.h5", "images", xf, "y", y);
  write_h5(dir / "nolabels.h5", "images", xf, "", {});
  write_h5(dir / "wrong.h5", "pixels", xf, "", {});
  auto a = read_labeled_images((dir / "u8.h5").string(), true);
  CHECK(torch::equal(a.images, x));
  CHECK(torch::equal(a.labels, y));
  auto b = read_labeled_images((dir / "f.h5").string(), true, 5);
  CHECK(b.images.size(0) == 5);
  CHECK(torch::equal(b.labels, y.narrow(0, 0, 5)));
  CHECK_FALSE(read_labeled_images((dir / "nolabels.h5").string(), false).labels.defined());
  CHECK_THROWS_WITH(read_labeled_images((dir / "nolabels.h5").string(), true),
                    Catch::Contains("nolabels.h5") && Catch::Contains("labels"));
  CHECK_THROWS_WITH(read_labeled_images((dir / "wrong.h5").string(), false),
                    Catch::Contains("wrong.h5") && Catch::Contains("imgs"));
}

TEST_CASE("fashion-classifier tool: train and score on a synthetic set") {
  test::TempDir dir;
  auto tool = test::tool_path("fashion-classifier").string();
  if (!std::filesystem::exists(tool)) {
    FAIL("the fashion-classifier tool is not built: " << tool);
  }
  auto [x, y] = synthetic_set(640, 11);
  auto [xt, yt] = synthetic_set(200, 12);
  write_h5(dir / "train.h5", "imgs", x, "labels", y);
  write_h5(dir / "test.h5", "imgs", xt, "labels", yt);
  // "Samples": float images of the test set with their labels, and a corrupted copy (noise) with shuffled labels.
  auto [xs, ys] = synthetic_set(200, 13);
  write_h5(dir / "good.h5", "images", xs.to(torch::kFloat32) / 127.5 - 1, "labels", ys);
  auto noise = torch::rand({200, 3, 32, 32}, at::detail::createCPUGenerator(1)) * 2 - 1;
  write_h5(dir / "bad.h5", "images", noise, "labels", ys);

  const std::string d = dir.path.string();
  std::string train = tool + " train --train " + d + "/train.h5 --test " + d + "/test.h5 --out " + d +
                      "/clf.pth --epochs 5 --batch-size 32 --channels 8,16,16 --features 32 --no-flip --threads 1 --json > " + d +
                      "/train.json 2>" + d + "/train.err";
  REQUIRE(test::run_shell(train) == 0);
  auto tj = Json::parse(test::slurp(dir / "train.json"));
  std::cout << "  tool train: " << tj.dump() << "\n";
  CHECK(tj["test_accuracy"].as_double() > 0.9);
  // --amp bf16 trains too and says so; fp16 (no CPU kernels) and a bad value are refused before a
  // file is written.
  const std::string train_base = tool + " train --train " + d + "/train.h5 --test " + d + "/test.h5 --epochs 5 " +
                                 "--batch-size 32 --channels 8,16,16 --features 32 --no-flip --threads 1 --json";
  REQUIRE(test::run_shell(train_base + " --amp bf16 --out " + d + "/clf16.pth > " + d + "/train16.json 2>" + d +
                          "/train.err") == 0);
  auto tj16 = Json::parse(test::slurp(dir / "train16.json"));
  CHECK(tj16["amp"].as_string() == "bf16");
  CHECK(tj16["test_accuracy"].as_double() > 0.9);
  for (const char* bad_amp : {"fp16", "bf8"}) {
    CHECK(test::run_shell(train_base + " --amp " + bad_amp + " --out " + d + "/clf_bad.pth > /dev/null 2>" + d +
                          "/err.txt") != 0);
    CHECK_THAT(test::slurp(dir / "err.txt"), Catch::Contains("--amp"));
    CHECK_FALSE(std::filesystem::exists(dir / "clf_bad.pth"));
  }

  auto score = [&](const std::string& samples, const std::string& out) {
    std::string cmd = tool + " score --classifier " + d + "/clf.pth --real " + d + "/test.h5 --samples " + d + "/" +
                      samples + " --train " + d + "/train.h5 --threads 1 --json > " + d + "/" + out + " 2>" + d +
                      "/score.err";
    REQUIRE(test::run_shell(cmd) == 0);
    return Json::parse(test::slurp(dir / out));
  };
  auto good = score("good.h5", "good.json"), bad = score("bad.h5", "bad.json");
  std::cout << "  tool score (real-like samples): " << good.dump() << "\n  tool score (noise): " << bad.dump() << "\n";
  CHECK(good["samples"]["conditional_accuracy"].as_double() > 0.9);
  CHECK(bad["samples"]["conditional_accuracy"].as_double() < 0.5);
  CHECK(good["samples"]["classifier_FID"].as_double() < bad["samples"]["classifier_FID"].as_double());
  CHECK(good["floor"]["count"].as_int() == 200);
  CHECK(good["floor"]["conditional_accuracy"].as_double() > 0.9);

  // Text output names the numbers; bad usage exits 2; a bad file exits 1 with its name.
  std::string text = tool + " score --classifier " + d + "/clf.pth --real " + d + "/test.h5 --samples " + d +
                     "/good.h5 --threads 1 > " + d + "/score.txt 2>&1";
  REQUIRE(test::run_shell(text) == 0);
  auto txt = test::slurp(dir / "score.txt");
  CHECK_THAT(txt, Catch::Contains("classifier-FID") && Catch::Contains("conditional accuracy"));
  CHECK(test::run_shell(tool + " score --classifier x.pth > /dev/null 2>&1") == 2);
  CHECK(test::run_shell(tool + " frobnicate > /dev/null 2>&1") == 2);
  CHECK(test::run_shell(tool + " score --classifier " + d + "/test.h5 --real " + d + "/test.h5 --samples " + d +
                        "/good.h5 > /dev/null 2>" + d + "/err.txt") == 1);
  CHECK_THAT(test::slurp(dir / "err.txt"), Catch::Contains("test.h5"));

  // gan-train's tests with this classifier: every test record carries the generator's scores and
  // the real-vs-real floor (real training images scored the same way).
  auto gan_train = test::tool_path("gan-train").string();
  REQUIRE(std::filesystem::exists(gan_train));
  std::string train_gan = gan_train + " --dataset synthetic --data_path " + d + "/train.h5 --base_root " + d +
                          "/run --batch_size 16 --G_ch 4 --D_ch 4 --dim_z 8 --G_attn 0 --D_attn 0 --num_D_steps 1 "
                          "--total_itr 2 --test_every 2 --save_every 2 --no_sheets --classifier " + d +
                          "/clf.pth --eval_real " + d + "/test.h5 --eval_samples 50 --threads 1 > " + d +
                          "/gan.out 2>" + d + "/gan.err";
  REQUIRE(test::run_shell(train_gan) == 0);
  std::filesystem::path test_log;
  for (const auto& e : std::filesystem::directory_iterator(dir / "run" / "logs"))
    if (e.path().string().size() > 10 && e.path().string().rfind("_log.jsonl") == e.path().string().size() - 10)
      test_log = e.path();
  REQUIRE_FALSE(test_log.empty());
  auto rec = Json::parse(test::slurp(test_log).substr(0, test::slurp(test_log).find('\n')));
  CHECK(rec["itr"].as_int() == 2);
  CHECK(rec["floor_conditional_accuracy"].as_double() > 0.9);
  CHECK(rec["floor_FID"].as_double() < rec["FID"].as_double());  // a 2-iteration G is far from the floor
  CHECK(rec["conditional_accuracy"].as_double() < rec["floor_conditional_accuracy"].as_double());
}
