// model.type = "forecaster": a closed-loop time-series forecaster (Forecaster over an
// LSTM / GRU / MLP one-step model) trained on one CSV column, e.g. statsmodels' yearly
// sunspots. Normalisation statistics travel with the weights.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli.h"
#include "ouro/data/autoregression.h"
#include "ouro/data/timeseries.h"
#include "ouro/nn/forecaster.h"
#include "ouro/ops/shape_ops.h"
#include "task.h"

namespace ouro::cli {
namespace {

Forecaster& forecaster(const TaskModel& model) { return static_cast<Forecaster&>(*model.model); }

CsvColumn value_column(const Config& c) {
  return c.data.column.empty() ? CsvColumn(-1) : CsvColumn(c.data.column);
}

Tensor read_values(const Config& c, const std::string& path) {
  return read_series_csv(path, value_column(c), CsvHeader(c.data.header));
}

std::vector<double> read_times(const Config& c, const std::string& path) {
  if (c.data.time_column.empty()) return {};
  const Tensor t = read_series_csv(path, CsvColumn(c.data.time_column), CsvHeader(c.data.header));
  const std::vector<float> v = t.to_float_vector();
  return std::vector<double>(v.begin(), v.end());
}

ForecasterSpec spec_of(const Config& c) {
  ForecasterSpec spec;
  spec.cell = c.model.cell;
  spec.window = c.data.window;
  spec.features = 1;
  spec.hidden = c.model.hidden_size;
  spec.layers = c.model.num_layers;
  spec.rollout = c.model.rollout;
  spec.sampling.schedule = sampling_schedule_from_name(c.model.sampling);
  spec.sampling.decay_steps = c.model.sampling_decay_steps;
  spec.sampling.exponential_base = c.model.sampling_base;
  spec.sampling.inverse_sigmoid_k = c.model.sampling_k;
  spec.sampling.min_teacher_probability = c.model.min_teacher_probability;
  spec.seed = static_cast<std::uint64_t>(c.train.seed);
  spec.transform = c.model.transform;
  spec.linear_skip = c.model.linear_skip;
  return spec;
}

TaskModel wrap(const Config& config) {
  auto model = make_forecaster(spec_of(config));
  TaskModel out;
  out.model = model;
  out.loss = "mse";
  out.metrics = {"mae"};
  out.generators["forecaster.sampling"] = std::shared_ptr<Generator>(model, &model->sampling_generator());
  return out;
}

TaskModel prepare_training(const Config& config, TaskData& data) {
  const Tensor series = read_values(config, config.data.path);
  const std::vector<double> times = read_times(config, config.data.path);
  const std::int64_t n = series.size(0);
  // The training part ends at train_until (by time) or leaves validation_fraction at the end.
  std::int64_t train_end = n;
  if (!times.empty() && config.data.train_until != 0) {
    train_end = 0;
    while (train_end < n && times[static_cast<std::size_t>(train_end)] <= config.data.train_until) ++train_end;
  } else if (config.data.validation_fraction > 0) {
    train_end = n - static_cast<std::int64_t>(std::llround(config.data.validation_fraction * static_cast<double>(n)));
  }
  const std::int64_t span = config.data.window + config.model.rollout;
  OURO_CHECK(train_end >= span, "data.path '", config.data.path, "': ", train_end, " training values are fewer than ",
             "data.window + model.rollout = ", span);
  TaskModel out = wrap(config);
  Forecaster& model = forecaster(out);
  const Tensor train_part = narrow(series, 0, 0, train_end);
  model.fit_normalization(train_part);
  if (config.model.linear_skip == "least_squares") model.fit_linear_skip(train_part);
  data.train = model.windows(train_part);
  // Validation windows predict the held-out values from the context just before them.
  const std::int64_t context_start = std::max<std::int64_t>(0, train_end - config.data.window);
  if (n - context_start >= span) data.validation = model.windows(narrow(series, 0, context_start, n - context_start));
  std::printf("series %s: %lld values, %lld for training, %lld held out\n", config.data.path.c_str(),
              static_cast<long long>(n), static_cast<long long>(train_end), static_cast<long long>(n - train_end));
  return out;
}

TaskModel rebuild(const Config& config, const std::map<std::string, std::string>&) { return wrap(config); }

Dataset evaluation_data(const Config& config, const TaskModel& model, const std::string& path) {
  return forecaster(model).windows(read_values(config, path));
}

// Rolling-origin evaluation (ouro forecast --origins-from T): the model, persistence and AR(p)
// forecast closed-loop from every origin o (the last value before T, then each later one) with
// the history up to o known; the RMSE of the h-th forecast, per h, over the origins with a
// true value h steps on.
void evaluate_rolling(const Config& config, const TaskModel& model, const ForecastRequest& request,
                      const Tensor& history, const std::vector<double>& times, std::FILE* out) {
  Forecaster& f = forecaster(model);
  const std::vector<float> raw = history.to_float_vector();
  const std::vector<double> y(raw.begin(), raw.end());
  const std::size_t n = y.size(), W = static_cast<std::size_t>(f.options().window);
  std::size_t before = 0;  // values with time (row) < T
  while (before < n && (times.empty() ? static_cast<double>(before) : times[before]) < *request.origins_from) ++before;
  OURO_CHECK(before >= std::max<std::size_t>(W, 22) && before < n, "ouro forecast --origins-from ",
             *request.origins_from, ": needs at least max(window ", W, ", 22) values before it and one after it in '",
             request.data_path, "' (", before, " before, ", n - before, " from it on)");
  const std::vector<double> fit_part(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(before));
  const AutoRegression ar = AutoRegression::fit(fit_part, AutoRegression::choose_order_aic(fit_part, 20));
  const std::size_t first_origin = before - 1, origins = n - 1 - first_origin;
  const auto H = static_cast<std::size_t>(request.horizon);
  std::vector<double> contexts;
  for (std::size_t o = first_origin; o < first_origin + origins; ++o)
    contexts.insert(contexts.end(), y.begin() + static_cast<std::ptrdiff_t>(o + 1 - W),
                    y.begin() + static_cast<std::ptrdiff_t>(o + 1));
  const std::vector<double> predicted =
      f.forecast(Tensor::from_vector(contexts, {static_cast<std::int64_t>(origins), static_cast<std::int64_t>(W), 1}),
                 request.horizon)
          .to_vector();
  std::vector<std::vector<double>> ar_paths(origins);
  for (std::size_t i = 0; i < origins; ++i)
    ar_paths[i] = ar.forecast(std::vector<double>(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(first_origin + i + 1)), H);
  std::fprintf(out, "horizon,origins,rmse_model,rmse_persistence,rmse_ar\n");
  for (std::size_t h = 1; h <= H; ++h) {
    double sm = 0, sp = 0, sa = 0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < origins && first_origin + i + h < n; ++i, ++count) {
      const double truth = y[first_origin + i + h];
      sm += std::pow(predicted[i * H + h - 1] - truth, 2);
      sp += std::pow(y[first_origin + i] - truth, 2);
      sa += std::pow(ar_paths[i][h - 1] - truth, 2);
    }
    if (count == 0) break;
    const double c = static_cast<double>(count);
    std::fprintf(out, "%zu,%zu,%.4f,%.4f,%.4f\n", h, count, std::sqrt(sm / c), std::sqrt(sp / c), std::sqrt(sa / c));
  }
  std::fprintf(stderr, "rolling origins from %s %.10g: AR(%zu) fitted on the %zu values before it\n",
               times.empty() ? "row" : config.data.time_column.c_str(), *request.origins_from, ar.order(), before);
}

void forecast(const Config& config, const TaskModel& model, const ForecastRequest& request, std::FILE* out) {
  const Tensor history = read_values(config, request.data_path);
  const std::vector<double> times = read_times(config, request.data_path);
  if (request.origins_from) {
    evaluate_rolling(config, model, request, history, times, out);
    return;
  }
  const std::vector<float> predicted = forecaster(model).forecast(history, request.horizon).to_float_vector();
  // Time stamps continue the history's last spacing.
  const bool timed = times.size() >= 2;
  const double last = timed ? times.back() : 0, spacing = timed ? times.back() - times[times.size() - 2] : 0;
  std::fprintf(out, "%s,forecast\n", timed ? config.data.time_column.c_str() : "step");
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    if (timed) std::fprintf(out, "%.10g,%.9g\n", last + spacing * static_cast<double>(i + 1), predicted[i]);
    else std::fprintf(out, "%zu,%.9g\n", i + 1, predicted[i]);
  }
}

}  // namespace

const Task& forecaster_task() {
  static const Task task{.prepare_training = prepare_training,
                         .rebuild = rebuild,
                         .evaluation_data = evaluation_data,
                         .forecast = forecast};
  return task;
}

}  // namespace ouro::cli
