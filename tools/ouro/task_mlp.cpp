// model.type = "mlp": a classifier of CSV rows (features, then an integer class id in the last
// column), e.g. scikit-learn's iris.csv. The smallest task: it exercises the whole command
// line (train, resume, eval, inspect) in a fraction of a second.
#include <cmath>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "ouro/data/csv.h"
#include "ouro/nn/activation.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/sequential.h"
#include "task.h"

namespace ouro::cli {
namespace {

Dataset read_rows(const Config& config, const std::string& path) {
  CsvOptions options;
  options.header = config.data.header;
  options.label_column = CsvColumn(-1);
  options.label = CsvLabel::ClassId;
  Dataset rows = read_csv(path, options);
  // A NaN or inf feature would make every loss NaN without saying where it came from.
  const std::int64_t features = rows.inputs.size(1);
  const std::vector<double> values = rows.inputs.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i)
    OURO_CHECK(std::isfinite(values[i]), "csv ", path, ": data row ", static_cast<std::int64_t>(i) / features + 1,
               ", feature ", static_cast<std::int64_t>(i) % features + 1, " is ", values[i],
               "; expected a finite float32 number (missing values are not supported)");
  return rows;
}

TaskModel build(const Config& config, std::int64_t inputs, std::int64_t classes) {
  const ModelConfig& m = config.model;
  TaskModel out;
  Generator init(static_cast<std::uint64_t>(config.train.seed));
  auto dropout_generator = std::make_shared<Generator>(static_cast<std::uint64_t>(config.train.seed) + 1);
  auto model = std::make_shared<Sequential>();
  std::int64_t width = inputs;
  for (std::int64_t layer = 0; layer < m.num_layers; ++layer) {
    model->add(std::make_shared<Linear>(LinearOptions{.in = width, .out = m.hidden_size, .bias = true,
                                                      .activation = parse_activation(m.activation),
                                                      .generator = &init}));
    if (m.dropout > 0) model->add(std::make_shared<Dropout>(m.dropout, dropout_generator.get()));
    width = m.hidden_size;
  }
  model->add(std::make_shared<Linear>(LinearOptions{.in = width, .out = classes, .bias = true, .generator = &init}));
  out.model = model;
  out.loss = "sparse_categorical_crossentropy";
  out.metrics = {"accuracy"};
  out.metadata["mlp"] = nlohmann::json{{"inputs", inputs}, {"classes", classes}}.dump();
  if (m.dropout > 0) out.generators["dropout"] = dropout_generator;
  return out;
}

TaskModel prepare_training(const Config& config, TaskData& data) {
  const Dataset all = read_rows(config, config.data.path);
  OURO_CHECK(all.size() >= 2, "data.path '", config.data.path, "': ", all.size(), " rows are too few to train on");
  if (config.data.validation_fraction > 0) {
    TrainTestSplit split = train_test_split(all, config.data.validation_fraction,
                                            static_cast<std::uint64_t>(config.train.seed));
    data.train = split.train;
    data.validation = split.test;
  } else {
    data.train = all;
  }
  return build(config, all.inputs.size(1), all.num_classes());
}

TaskModel rebuild(const Config& config, const std::map<std::string, std::string>& metadata) {
  const auto it = metadata.find("mlp");
  OURO_CHECK(it != metadata.end(), "checkpoint: no \"mlp\" metadata (inputs and classes)");
  const auto shape = nlohmann::json::parse(it->second);
  return build(config, shape.at("inputs").get<std::int64_t>(), shape.at("classes").get<std::int64_t>());
}

Dataset evaluation_data(const Config& config, const TaskModel&, const std::string& path) {
  return read_rows(config, path);
}

}  // namespace

const Task& mlp_task() {
  static const Task task{.prepare_training = prepare_training, .rebuild = rebuild, .evaluation_data = evaluation_data};
  return task;
}

}  // namespace ouro::cli
