// The training loop (train.py's): set-up or resume, epochs, iterations, saves, tests, sheets and
// plots. About 420 lines because it is one loop and its steps; what stands apart is apart:
// trainer_ranks.cpp (several processes), trainer_collapse.cpp (the collapse watchdog's answer).
#include "libbiggan/training/trainer.h"

#include "libbiggan/training/rng.h"
#include "libbiggan/training/sampling.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <filesystem>
#include <iostream>
#include <optional>

#include "libbiggan/data/sampler.h"
#include "libbiggan/training/cross_replica_bn.h"
#include "libbiggan/training/config_from_tensors.h"
#include "libbiggan/training/fine_tune.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"
#include "libbiggan/util/plots.h"
#include "libbiggan/util/progress.h"

namespace biggan {
namespace {

// 0: no stop asked; a signal number; or kStopRequested (request_stop). Reset when a run starts.
constexpr int kStopRequested = -1;
std::atomic<int> g_stop{0};
static_assert(std::atomic<int>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void handle_stop_signal(int sig) { g_stop.store(sig); }


Json losses_json(int64_t itr, const StepLosses& l) {
  Json j = Json::object();
  j.set("itr", itr);
  j.set("G_loss", l.G_loss);
  j.set("D_loss_real", l.D_loss_real);
  j.set("D_loss_fake", l.D_loss_fake);
  return j;
}

// utils.get_SVs: every sv buffer of a model as "<prefix>_<key with dots as underscores>".
std::vector<std::pair<std::string, double>> singular_values(const torch::nn::Module& m, const std::string& prefix) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& kv : state_dict(m)) {
    if (kv.key().find("sv") == std::string::npos) continue;
    std::string key = prefix + "_" + kv.key();
    std::replace(key.begin(), key.end(), '.', '_');
    out.emplace_back(key, kv.value().item<double>());
  }
  return out;
}

}  // namespace

void Trainer::request_stop() { g_stop.store(kStopRequested); }

bool Trainer::stop_now() const { return dist_ ? stop_agreed_ : g_stop.load() != 0; }

void Trainer::install_signal_handlers() {
  std::signal(SIGINT, handle_stop_signal);
  std::signal(SIGTERM, handle_stop_signal);
  // Over a file size limit write() then fails with EFBIG and the save reports it, instead of the
  // process dying mid-save.
  std::signal(SIGXFSZ, SIG_IGN);
}

Trainer::Trainer(Config config, TrainerOptions options) : config_(std::move(config)), options_(std::move(options)) {
  config_.validate_training("gan-train config");
  check_precision(config_, options_.amp, options_.device);
  if (config_.resume && !options_.resume_from.empty())
    throw Error("give --resume (continue this run) or --resume_from W (a new run from W's weights), not both");
  connect_ranks();
  data_ = std::make_shared<data::HDF5Dataset>(options_.data_path, config_.load_in_mem);
  name_ = config_.experiment_name.empty() ? experiment_name_from_config(config_) : config_.experiment_name;
  paths_ = experiment_paths(config_, name_);

  // The weights to start from, read before the models are built: their tensors set the architecture.
  std::optional<WeightsFolderContents> loaded;
  if (config_.resume) {
    if (writer_ && recover_weights_folder(paths_.weights, config_.load_weights) == Recovery::kCompletedSave)
      std::cerr << "gan-train: completed the save that was interrupted in " << paths_.weights.string() << "\n";
    if (dist_) dist_->barrier("rank 0 checks the save before every rank loads it");
    loaded = load_weights_folder(paths_.weights, config_.load_weights,
                                 config_.ema ? std::vector<std::string>{"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"}
                                             : std::vector<std::string>{"G", "D", "G_optim", "D_optim", "state_dict"});
    adopt_architecture(*loaded, paths_.weights.string());
  } else if (!options_.resume_from.empty()) {
    if (!std::filesystem::is_directory(options_.resume_from))
      throw input_error(options_.resume_from, "--resume_from: no such weights folder");
    loaded = load_weights_folder(options_.resume_from, "", {"G", "D"});
    adopt_architecture(*loaded, options_.resume_from);
  }
  if (data_->height() != config_.resolution || data_->width() != config_.resolution)
    throw input_error(options_.data_path, "images are " + std::to_string(data_->height()) + "x" +
                                              std::to_string(data_->width()) + ", the model's resolution is " +
                                              std::to_string(config_.resolution));
  if (data_->num_classes() > config_.n_classes)
    throw input_error(options_.data_path, "labels go up to " + std::to_string(data_->num_classes() - 1) +
                                              " but the model has " + std::to_string(config_.n_classes) + " classes");

  // train.py: seed, then G, D, G_ema (initialisation runs on resume too, so that every later draw
  // happens as in the uninterrupted run; the loaded weights then replace the initial ones).
  torch::manual_seed(static_cast<uint64_t>(config_.seed));
  gan_ = Gan::build(config_);
  gan_.to(options_.device);
  state_.config = config_;
  if (config_.resume) {
    gan_.load_weights(*loaded, paths_.weights.string());
    state_ = *loaded->state;
    state_.config = config_;
    last_save_itr_ = state_.itr;
  } else if (loaded) {
    fine_tune_from(gan_, *loaded, options_.resume_from, std::cerr);
  }
  const bool fresh = !config_.resume;
  if (writer_) {
    create_experiment_folders(paths_);
    // Iterations after the save are trained again: their earlier records go, so no itr is logged twice.
    if (!fresh) drop_log_records_after(paths_, state_.itr);
    text_log_ = std::make_unique<MetricTextLogger>(paths_.logs, fresh, config_.logstyle);
    train_log_ = std::make_unique<JsonlLogger>(paths_.train_log, fresh, false);
    sv_log_ = std::make_unique<JsonlLogger>(paths_.logs / "sv_log.jsonl", fresh, false);
    test_log_ = std::make_unique<JsonlLogger>(paths_.test_log, fresh, true);
    if (options_.watch_collapse) {
      watchdog_ = std::make_unique<CollapseWatchdog>(options_.collapse);
      collapse_log_ = std::make_unique<JsonlLogger>(paths_.logs / "collapse.jsonl", fresh, true);
    }
    write_metadata(paths_, config_, Json::object().set("itr", state_.itr).set("epoch", state_.epoch));
  }

  // prepare_z_y twice (z_ / y_ for training, then the fixed sheet's), then fixed_z / fixed_y drawn.
  StepShard shard;
  if (dist_) {
    shard.rank = dist_->rank();
    shard.world = dist_->world_size();
    shard.average_gradients = [this](const std::vector<torch::Tensor>& params) {
      dist_->average_gradients(params, "gradients");
    };
  }
  // Only the writing rank logs fp16's skipped steps (the others skip the same steps).
  precision_ = MixedPrecision::for_run(options_.amp, writer_ ? paths_.logs : std::filesystem::path(), !fresh);
  step_ = std::make_unique<TrainStep>(gan_, std::make_shared<RandomNoise>(config_.n_classes, config_.z_var), shard,
                                      precision_.get());
  const int64_t g_batch = std::max(config_.G_batch_size, config_.batch_size);
  fixed_z_ = torch::randn({g_batch, gan_.G->dim_z()}).to(options_.device);
  fixed_y_ = torch::zeros({g_batch}, torch::TensorOptions().dtype(torch::kInt64).device(options_.device));
  RandomNoise(config_.n_classes, config_.z_var).sample(fixed_z_, fixed_y_);
}

Trainer::~Trainer() = default;

void Trainer::adopt_architecture(const WeightsFolderContents& w, const std::string& source) {
  // Every architecture field not given on the command line follows the tensors; a default that
  // differs is named (the reference would stop at a size mismatch).
  ConfigKeys keys;
  keys.explicit_ = options_.explicit_keys;
  for (const auto& f : architecture_fields()) keys.stated.insert(f);
  ReconciledConfig r;
  try {
    r = reconcile_with_tensors(config_, keys, &w.G, &w.D, source);
  } catch (const Error& e) {
    // Tensors the rules do not know: the flags as given, and the load judges them.
    std::cerr << "gan-train: note: architecture not read off the tensors: " << e.what() << "\n";
    return;
  }
  for (const auto& line : r.warnings) std::cerr << "gan-train: warning: " << source << ": " << line << "\n";
  config_ = r.config;
  config_.validate_training("gan-train config (with the architecture of " + source + ")");
}

// The data order of one epoch as the reference's loaders draw it, and where the loader starts: a
// resumed epoch skips the batches already trained (or the multi-epoch sampler starts late).
torch::Tensor Trainer::epoch_order(bool resume_this_epoch, int64_t loader_start_itr, data::LoaderOptions& lo) {
  const auto& c = config_;
  const int64_t d_batch = lo.batch_size, n = data_->size();
  // A DataLoader iterator draws its base seed, then its sampler draws the order.
  data::reference_loader_iter_draw();
  if (c.use_multiepoch_sampler) {
    // All epochs in one pass; on resume the sampler itself skips start_itr batches.
    const int64_t start = resume_this_epoch ? state_.itr : loader_start_itr;
    lo.position_offset = start * d_batch;
    return data::MultiEpochSampler(n, c.num_epochs, start, d_batch).draw();
  }
  auto order = c.shuffle ? data::random_sampler_order(n) : torch::arange(n, torch::kInt64);
  lo.drop_last = true;
  const int64_t skip_batches = resume_this_epoch ? state_.itr - state_.epoch_start_itr : 0;
  if (skip_batches > 0) {
    order = order.slice(0, std::min(skip_batches * d_batch, order.size(0)));
    lo.position_offset = (state_.epoch_start_itr + skip_batches) * d_batch;
  }
  return order;
}

// --lr_decay_start: the rates of the iteration about to run (state_.itr), from the iteration alone.
void Trainer::set_learning_rates() {
  // Iteration itr runs at (total - itr + 1) / (total - start + 1) of the configured rates once past
  // the start: just under 1 at start + 1, 1 / (total - start + 1) at the last iteration.
  const int64_t start = options_.lr_decay_start, total = options_.total_itr;
  const double factor =
      state_.itr <= start ? 1.0 : static_cast<double>(total - state_.itr + 1) / (total - start + 1);  // itr <= total
  gan_.G_optim->options().lr = config_.G_lr * factor;
  gan_.D_optim->options().lr = config_.D_lr * factor;
}

// One training iteration on `batch`: the step, its logs, SVs, progress, and saving / testing when due.
void Trainer::train_iteration(const data::Batch& batch, ProgressMeter& meter) {
  const auto& c = config_;
  ++state_.itr;
  if (options_.lr_decay_start >= 0) set_learning_rates();
  gan_.G->train();
  gan_.D->train();
  if (gan_.G_ema) gan_.G_ema->train();
  const bool non_blocking = batch.x.is_pinned();
  StepLosses losses;
  {
    std::optional<CrossReplicaBatchNorm> joined_bn;
    if (dist_ && c.cross_replica) joined_bn.emplace(*gan_.G, *dist_);
    losses = step_->run(batch.x.to(options_.device, non_blocking), batch.y.to(options_.device, non_blocking),
                        state_.itr);
  }
  if (dist_) agree_on_losses(losses, g_stop.load() != 0);
  if (!std::isfinite(losses.G_loss) || !std::isfinite(losses.D_loss_real) || !std::isfinite(losses.D_loss_fake))
    throw Error("itr " + std::to_string(state_.itr) + ": non-finite loss (G_loss " + std::to_string(losses.G_loss) +
                ", D_loss_real " + std::to_string(losses.D_loss_real) + ", D_loss_fake " +
                std::to_string(losses.D_loss_fake) + "); stopped without saving" +
                (last_save_itr_ >= 0 ? "; the last good save (itr " + std::to_string(last_save_itr_) + ") is in " +
                                           paths_.weights.string()
                                     : std::string()));
  if (writer_) {
    text_log_->log(state_.itr, {{"G_loss", losses.G_loss}, {"D_loss_real", losses.D_loss_real},
                                {"D_loss_fake", losses.D_loss_fake}});
    train_log_->log(losses_json(state_.itr, losses));
  }
  if (watchdog_) on_collapse(watchdog_->on_losses(state_.itr, losses.G_loss, losses.D_loss_real, losses.D_loss_fake));
  if (options_.on_step) options_.on_step(state_.itr, batch, losses);
  if (writer_ && c.sv_log_interval > 0 && state_.itr % c.sv_log_interval == 0) {
    auto svs = singular_values(*gan_.G, "G");
    auto d_svs = singular_values(*gan_.D, "D");
    svs.insert(svs.end(), d_svs.begin(), d_svs.end());
    text_log_->log(state_.itr, svs);
    Json j = Json::object().set("itr", state_.itr);
    for (const auto& [k, v] : svs) j.set(k, v);
    sv_log_->log(j);
    if (watchdog_) on_collapse(watchdog_->on_singular_values(state_.itr, svs));
  }
  char detail[128];
  std::snprintf(detail, sizeof detail, "G_loss %+.3f  D_real %+.3f  D_fake %+.3f", losses.G_loss,
                losses.D_loss_real, losses.D_loss_fake);
  meter.update(state_.itr, detail);
  if (c.save_every > 0 && state_.itr % c.save_every == 0) save(true);
  if (c.test_every > 0 && state_.itr % c.test_every == 0) test();
}

TrainState Trainer::run() {
  const auto& c = config_;
  const int64_t d_batch = c.batch_size * c.num_D_steps * c.num_D_accumulations;
  const int64_t loader_start_itr = state_.itr;  // get_data_loaders(start_itr=state_dict['itr'])
  bool resuming = c.resume && state_.rng_state.defined();  // the first epoch only
  if (c.resume && !state_.rng_state.defined())
    std::cerr << "gan-train: the save has no generator state (a reference save?): resuming as the reference does, "
                 "data order continues but the noise differs from an uninterrupted run\n";
  // The last iteration when known: --total_itr, or num_epochs of full batches (drop_last).
  const int64_t last_itr = options_.total_itr > 0    ? options_.total_itr
                           : c.use_multiepoch_sampler ? -1
                                                      : c.num_epochs * (data_->size() / std::max<int64_t>(d_batch, 1));
  ProgressMeter meter("gan-train", last_itr, options_.progress, "itr");
  meter.set_start_count(state_.itr);
  g_stop.store(0);  // a stop asked of an earlier run in this process is not one asked of this run
  stop_agreed_ = false;
  stop_signal_ = 0;
  const auto reached_total = [&] { return options_.total_itr > 0 && state_.itr >= options_.total_itr; };
  const auto loop_start = std::chrono::steady_clock::now();

  for (; state_.epoch < c.num_epochs; ++state_.epoch) {
    const bool resume_this_epoch = resuming && state_.epoch_start_itr >= 0 && state_.itr > state_.epoch_start_itr;
    resuming = false;  // later epochs start afresh (else each would skip as many batches again)
    if (resume_this_epoch) set_default_generator_state(state_.epoch_rng_state);
    else state_.epoch_start_itr = state_.itr;
    state_.epoch_rng_state = default_generator_state();

    data::LoaderOptions lo;
    lo.batch_size = d_batch;
    lo.augment = c.augment;
    lo.augment_seed = static_cast<uint64_t>(c.seed);
    lo.threads = std::max(1, options_.loader_threads);
    lo.pin_memory = c.pin_memory;
    auto order = epoch_order(resume_this_epoch, loader_start_itr, lo);
    if (dist_) {  // this rank's rows of each global batch (the epoch's short last batch is dropped)
      order = rank_share_of_order(order, d_batch, c.batch_size, dist_->rank(), dist_->world_size());
      lo.batch_size = d_batch / dist_->world_size();
    }
    if (resume_this_epoch) GeneratorStates{state_.rng_state, state_.cuda_rng_state}.restore(options_.device);
    data::BatchLoader loader(data_, order, lo);

    while (auto batch = loader.next()) {
      if (reached_total()) break;
      train_iteration(*batch, meter);
      if (stop_now()) break;
    }
    if (stop_now() || reached_total()) break;
  }
  // A stop that comes only after the last iteration does not make the finished run an interrupted one.
  const bool finished = reached_total() || state_.epoch >= c.num_epochs;
  const int stop = g_stop.exchange(0);
  stopped_ = (stop != 0 || stop_agreed_) && !finished;
  stop_signal_ = stopped_ && stop > 0 ? stop : 0;
  meter.finish(state_.itr);
  if (dist_) report_collectives(std::chrono::duration<double>(std::chrono::steady_clock::now() - loop_start).count());
  // The end of the run (or a requested stop): make sure the last iteration is saved and scored.
  if (last_save_itr_ != state_.itr) save(false);
  if (!stopped_ && last_test_itr_ != state_.itr && options_.evaluator) test();
  plots();
  return state_;
}

void Trainer::save(bool with_copy) {
  if (config_.G_eval_mode) {
    gan_.G->eval();
    if (gan_.G_ema) gan_.G_ema->eval();
  }
  if (with_copy) standing_stats();  // a scheduled save (not a stop's)
  const auto rng = GeneratorStates::capture(options_.device);
  state_.rng_state = rng.cpu;
  state_.cuda_rng_state = rng.cuda;
  const std::string at = "itr " + std::to_string(state_.itr) + ": ";
  if (dist_) {
    std::vector<torch::Tensor> weights = gan_.G_parameters();
    for (const auto& p : gan_.D_parameters()) weights.push_back(p);
    if (gan_.G_ema) for (const auto& p : gan_.G_ema->parameters()) weights.push_back(p);
    dist_->check_same_weights(weights, at + "weights of G, D and G_ema");
  }
  if (!writer_) {  // rank 0 writes; the others only keep the count of copies in step
    if (with_copy && config_.num_save_copies > 0) state_.save_num = (state_.save_num + 1) % config_.num_save_copies;
    last_save_itr_ = state_.itr;
    return;
  }
  try {
    save_weights_folder(paths_.weights, "", gan_.to_weights(state_));
  } catch (const Error& e) {
    throw Error(at + "save failed, the previous save is intact: " + e.what());
  }
  if (with_copy && config_.num_save_copies > 0) {
    const std::string suffix = "copy" + std::to_string(state_.save_num);
    try {
      save_weights_folder(paths_.weights, suffix, gan_.to_weights(state_));
    } catch (const Error& e) {
      throw Error(at + "the main save is complete, but saving " + suffix + " failed (its previous save is intact): " +
                  e.what());
    }
    state_.save_num = (state_.save_num + 1) % config_.num_save_copies;
  }
  last_save_itr_ = state_.itr;
  if (options_.sample_sheets) sample_sheets();
}

// What saves' sheets, tests and standing statistics sample: G_ema with --ema --use_ema, else G.
GeneratorImpl& Trainer::sampled_G() { return (config_.ema && config_.use_ema && gan_.G_ema) ? *gan_.G_ema : *gan_.G; }

// The reference's --accumulate_stats (train_fns.save_and_sample and test): the sampled G's BN
// statistics are re-estimated from its own forwards in train mode (utils.accumulate_standing_stats;
// G ends in eval mode, as there), once an iteration, at scheduled saves and at tests. Unlike the
// reference, a save holds them (they come before it is written: the saved G_ema is the one its
// sheets and tests sampled), a save off the schedule (a stop) leaves them as they are, and the draws
// come from a generator of their own, seeded by the run's seed and the iteration: so the training
// noise never shifts, every rank computes the same statistics, and a resumed run repeats the
// uninterrupted one.

void Trainer::standing_stats() {
  if (!config_.accumulate_stats || standing_itr_ == state_.itr) return;
  standing_itr_ = state_.itr;
  GeneratorImpl& which = sampled_G();
  const int64_t g_batch = std::max(config_.G_batch_size, config_.batch_size);
  auto on = torch::TensorOptions().device(options_.device);
  auto z = torch::empty({g_batch, which.dim_z()}, on);
  auto y = torch::empty({g_batch}, on.dtype(torch::kInt64));
  auto gen = private_generator(options_.device, static_cast<uint64_t>(config_.seed) * 1000003u +
                                                    static_cast<uint64_t>(state_.itr) + (uint64_t{1} << 40));
  accumulate_standing_stats(which, z, y, config_.num_standing_accumulations, gen);
}

void Trainer::sample_sheets() {
  GeneratorImpl& which = sampled_G();
  // A private generator per save: the sheets never shift the training noise (the reference draws
  // them from the global one), and a resumed run writes the same sheets.
  auto gen = private_generator(options_.device, static_cast<uint64_t>(config_.seed) * 1000003u +
                                                    static_cast<uint64_t>(state_.itr));
  save_sample_sheets(which, fixed_z_, fixed_y_, paths_.samples, state_.itr, config_, gen);
}

void Trainer::test() {
  last_test_itr_ = state_.itr;
  if (!options_.evaluator) return;
  GeneratorImpl& which = sampled_G();
  if (config_.G_eval_mode) which.eval();
  standing_stats();
  // Whatever the evaluator draws, training noise continues as if no test had run.
  const auto rng = GeneratorStates::capture(options_.device);
  Json r = options_.evaluator->evaluate(which, state_.itr, dist_.get());
  rng.restore(options_.device);
  if (!writer_) return;  // every rank made its share of the samples; rank 0 scores, keeps and logs
  const double is_mean = r["IS_mean"].as_double(), fid = r["FID"].as_double();
  if ((config_.which_best == "IS" && is_mean > state_.best_IS) || (config_.which_best == "FID" && fid < state_.best_FID)) {
    if (config_.num_best_copies > 0) {
      const std::string suffix = "best" + std::to_string(state_.save_best_num);
      try {
        save_weights_folder(paths_.weights, suffix, gan_.to_weights(state_));
      } catch (const Error& e) {
        throw Error("itr " + std::to_string(state_.itr) + ": saving " + suffix +
                    " failed (its previous save is intact): " + e.what());
      }
      state_.save_best_num = (state_.save_best_num + 1) % config_.num_best_copies;
    }
  }
  state_.best_IS = std::max(state_.best_IS, is_mean);
  state_.best_FID = std::min(state_.best_FID, fid);
  Json rec = Json::object().set("itr", state_.itr).set("IS_mean", is_mean).set("IS_std", r["IS_std"].as_double()).set("FID", fid);
  for (const auto& kv : r.items())
    if (!rec.contains(kv.first)) rec.set(kv.first, kv.second);
  test_log_->log(rec);
  if (watchdog_) on_collapse(watchdog_->on_test(state_.itr, fid, is_mean));
  std::fprintf(stderr, "%sitr %lld: %s IS %.3f +/- %.3f, FID %.4f\n", options_.progress ? "\n" : "",
               static_cast<long long>(state_.itr), options_.evaluator->name().c_str(), is_mean,
               r["IS_std"].as_double(), fid);
  plots();
}

void Trainer::plots() {
  if (!writer_) return;
  try {
    PlotOptions o;
    o.title = name_ + ": losses";
    plot_jsonl(paths_.train_log, {"G_loss", "D_loss_real", "D_loss_fake"}, paths_.logs / "losses.png", o);
    if (std::filesystem::exists(paths_.test_log)) {
      o.title = name_ + ": FID";
      plot_jsonl(paths_.test_log, {"FID", "floor_FID"}, paths_.logs / "fid.png", o);
      o.title = name_ + ": IS";
      plot_jsonl(paths_.test_log, {"IS_mean", "floor_IS_mean"}, paths_.logs / "is.png", o);
      o.title = name_ + ": conditional accuracy";
      plot_jsonl(paths_.test_log, {"conditional_accuracy", "floor_conditional_accuracy"}, paths_.logs / "accuracy.png", o);
    }
    if (std::filesystem::exists(paths_.logs / "sv_log.jsonl") && std::filesystem::file_size(paths_.logs / "sv_log.jsonl") > 0) {
      auto keys = std::vector<std::string>();
      std::ifstream in(paths_.logs / "sv_log.jsonl");
      std::string first;
      if (std::getline(in, first)) {
        const Json record = Json::parse(first);
        for (const auto& kv : record.items())
          if (kv.first != "itr" && kv.second.is_number()) keys.push_back(kv.first);
      }
      o.title = name_ + ": singular values";
      plot_jsonl(paths_.logs / "sv_log.jsonl", keys, paths_.logs / "singular_values.png", o);
    }
  } catch (const std::exception& e) {
    // Plots are a convenience: a failure is reported, never fatal to training.
    std::cerr << "gan-train: plots not updated: " << e.what() << "\n";
  }
}

}  // namespace biggan
