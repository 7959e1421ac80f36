// How the sunspot forecaster's recipe was chosen (tests/integration/test_sunspots.cpp): blocked
// forward-chaining cross-validation inside the training years 1700-1920. Each fold validates a
// block of years with the model, AR(p) (p by AIC, up to 20) and persistence fitted on the years
// before the block; from every origin in the block the model forecasts 10 years closed-loop and
// the h-th forecast is scored, h = 1, 5, 10. The score is the worst over h of the pooled model
// RMSE divided by the better baseline's: below 1 beats both baselines at every horizon.
//
//   example_sunspots_selection                       # the chosen recipe on the three folds
//   example_sunspots_selection window=11 cell=gru    # any other recipe: key=value overrides
//   example_sunspots_selection test=1                # the final evaluation on 1921-2008
//
// keys (defaults = the chosen recipe): cell lstm, hidden 8, window 9, rollout 10,
// sampling free_running, k 20 (inverse_sigmoid), transform sqrt, skip least_squares,
// epochs 20, lr 0.003, batch 32, seeds 5 (averaged), seed0 7, clip 0,
// folds 1811-1850,1851-1885,1886-1920; test 0; scales 1 and stretches 1 (augmentation: the
// training series is also used multiplied by each scale and resampled to each multiple of its
// cycle length, e.g. stretches=0.9,1,1.1). Runs in a few seconds at one thread.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "ouro/ouro.h"

using namespace ouro;

namespace {

double rmse(const std::vector<double>& e) {
  double s = 0;
  for (double x : e) s += x * x;
  return std::sqrt(s / static_cast<double>(e.size()));
}

// The comma-separated parts of a key's value.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = text.find(',', pos);
    parts.push_back(text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return parts;
}

std::vector<double> parse_list(const std::string& text) {
  std::vector<double> values;
  for (const std::string& part : split_commas(text)) values.push_back(std::stod(part));
  return values;
}

// The series resampled by linear interpolation so that its cycles last `stretch` times as
// long, then multiplied by `scale`: augmented training series with other cycle lengths and
// amplitudes than the ones seen.
std::vector<double> warp(const std::vector<double>& y, double stretch, double scale) {
  const std::size_t n = static_cast<std::size_t>(std::floor(static_cast<double>(y.size() - 1) * stretch)) + 1;
  std::vector<double> out(n);
  for (std::size_t j = 0; j < n; ++j) {
    const double t = static_cast<double>(j) / stretch;
    const std::size_t i = std::min(static_cast<std::size_t>(t), y.size() - 2);
    const double f = t - static_cast<double>(i);
    out[j] = scale * ((1 - f) * y[i] + f * y[i + 1]);
  }
  return out;
}

std::vector<std::pair<int, int>> parse_folds(const std::string& text) {
  std::vector<std::pair<int, int>> folds;
  for (const std::string& part : split_commas(text)) {
    const std::size_t dash = part.find('-');
    OURO_CHECK(dash != std::string::npos, "folds: expected FIRST-LAST year blocks, got '", part, "'");
    folds.push_back({std::stoi(part.substr(0, dash)), std::stoi(part.substr(dash + 1))});
  }
  return folds;
}

int run_selection(int argc, char** argv) {
  std::map<std::string, std::string> kv{
      {"cell", "lstm"},      {"hidden", "8"},         {"window", "9"},   {"rollout", "10"},
      {"sampling", "free_running"}, {"k", "20"},      {"transform", "sqrt"}, {"skip", "least_squares"},
      {"epochs", "20"},      {"lr", "0.003"},         {"batch", "32"},   {"seeds", "5"},
      {"seed0", "7"},        {"clip", "0"},           {"test", "0"},     {"folds", "1811-1850,1851-1885,1886-1920"},
      {"scales", "1"},       {"stretches", "1"}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos || !kv.count(arg.substr(0, eq))) {
      std::fprintf(stderr, "unknown argument '%s' (expected key=value; see the comment at the top)\n", argv[i]);
      return 2;
    }
    kv[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  const TimeSeries series = load_statsmodels_series("sunspots");
  const std::vector<double>& y = series.values;
  const int first_year = static_cast<int>(series.time.front());
  const auto folds = kv["test"] == "1" ? std::vector<std::pair<int, int>>{{1921, 2008}} : parse_folds(kv["folds"]);
  constexpr int kHorizons[] = {1, 5, 10};
  constexpr std::size_t kMaxHorizon = 10;
  std::map<int, std::vector<double>> persistence, autoregression, model;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [block_first, block_last] : folds) {
    const std::size_t n_fit = static_cast<std::size_t>(block_first - first_year);
    const std::size_t n_end = static_cast<std::size_t>(block_last - first_year + 1);
    OURO_CHECK(n_fit > 40 && n_end <= y.size() && n_end > n_fit, "fold ", block_first, "-", block_last,
               " is outside the series or leaves too few years before it");
    const std::vector<double> fit_part(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(n_fit));
    const AutoRegression ar = AutoRegression::fit(fit_part, AutoRegression::choose_order_aic(fit_part, 20));
    ForecasterSpec spec{.cell = kv["cell"], .window = std::stoll(kv["window"]), .hidden = std::stoll(kv["hidden"]),
                        .rollout = std::stoll(kv["rollout"]), .transform = kv["transform"], .linear_skip = kv["skip"]};
    spec.sampling.schedule = sampling_schedule_from_name(kv["sampling"]);
    spec.sampling.inverse_sigmoid_k = std::stod(kv["k"]);
    const std::int64_t W = spec.window;
    const Tensor fit_values = Tensor::from_vector(fit_part, {static_cast<std::int64_t>(n_fit), 1});
    // Origins: the last known year runs from the year before the block to the block's end - 1.
    const std::size_t first_origin = n_fit - 1, origins = n_end - 1 - first_origin;
    std::vector<double> contexts;
    for (std::size_t o = first_origin; o < first_origin + origins; ++o)
      contexts.insert(contexts.end(), y.begin() + static_cast<std::ptrdiff_t>(o + 1 - W),
                      y.begin() + static_cast<std::ptrdiff_t>(o + 1));
    const Tensor histories = Tensor::from_vector(contexts, {static_cast<std::int64_t>(origins), W, 1});
    const int seeds = std::stoi(kv["seeds"]);
    std::vector<double> forecast(origins * kMaxHorizon, 0.0);
    for (int s = 0; s < seeds; ++s) {
      spec.seed = std::stoull(kv["seed0"]) + static_cast<std::uint64_t>(s);
      auto member = make_forecaster(spec);
      member->fit_normalization(fit_values);
      if (spec.linear_skip == "least_squares") member->fit_linear_skip(fit_values);
      manual_seed(spec.seed);
      Trainer trainer(member);
      const double lr = std::stod(kv["lr"]);
      trainer.compile(
          {.optimizer = [lr](std::vector<Tensor> ps) { return std::make_shared<Adam>(ps, AdamOptions{.lr = lr}); },
           .loss = "mse"});
      FitOptions options{.epochs = std::stoll(kv["epochs"]), .batch_size = std::stoll(kv["batch"]), .seed = spec.seed,
                         .verbose = Verbosity::Silent,
                         .generators = {{"forecaster.sampling", &member->sampling_generator()}}};
      if (std::stod(kv["clip"]) > 0) options.clip_grad_norm = std::stod(kv["clip"]);
      std::vector<Tensor> inputs, targets;
      for (double stretch : parse_list(kv["stretches"]))
        for (double scale : parse_list(kv["scales"])) {
          const std::vector<double> warped = warp(fit_part, stretch, scale);
          const Dataset d =
              member->windows(Tensor::from_vector(warped, {static_cast<std::int64_t>(warped.size()), 1}));
          inputs.push_back(d.inputs);
          targets.push_back(d.targets);
        }
      trainer.fit(Dataset{concat(inputs, 0), concat(targets, 0)}, options);
      const std::vector<double> f = member->forecast(histories, static_cast<std::int64_t>(kMaxHorizon)).to_vector();
      for (std::size_t i = 0; i < f.size(); ++i) forecast[i] += f[i] / seeds;
    }
    std::printf("fold %d-%d: AR(%zu), %zu origins\n", block_first, block_last, ar.order(), origins);
    for (int h : kHorizons) {
      std::vector<double> p_err, a_err, m_err;
      for (std::size_t i = 0; i < origins; ++i) {
        const std::size_t o = first_origin + i;
        if (o + static_cast<std::size_t>(h) >= n_end) break;
        const double truth = y[o + static_cast<std::size_t>(h)];
        const std::vector<double> history(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(o + 1));
        p_err.push_back(y[o] - truth);
        a_err.push_back(ar.forecast(history, static_cast<std::size_t>(h)).back() - truth);
        m_err.push_back(forecast[i * kMaxHorizon + static_cast<std::size_t>(h - 1)] - truth);
      }
      std::printf("  h=%-2d persistence %6.2f  AR %6.2f  model %6.2f\n", h, rmse(p_err), rmse(a_err), rmse(m_err));
      persistence[h].insert(persistence[h].end(), p_err.begin(), p_err.end());
      autoregression[h].insert(autoregression[h].end(), a_err.begin(), a_err.end());
      model[h].insert(model[h].end(), m_err.begin(), m_err.end());
    }
  }
  double score = 0;
  std::printf("pooled RMSE over the folds:\n");
  for (int h : kHorizons) {
    const double p = rmse(persistence[h]), a = rmse(autoregression[h]), m = rmse(model[h]);
    std::printf("  h=%-2d persistence %6.2f  AR %6.2f  model %6.2f\n", h, p, a, m);
    score = std::max(score, m / std::min(p, a));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("score (worst model / best baseline over h): %.4f   (%.1f s)\n", score, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_selection(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example_sunspots_selection: %s\n", e.what());
    return 1;
  }
}
