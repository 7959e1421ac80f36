// The source document's 3-5-2 network again, now as a user of the library writes it: a
// Sequential of two Dense layers, compile() with Adam and mean squared error, fit() with a
// validation split, evaluate() on held-out data. Same task as
// examples/source_network.cpp (iris versicolor vs virginica from three measurements, one-hot
// targets), same linear output (see that file for why the document's output ReLU is dropped).
#include <cstdio>

#include "ouro/ouro.h"
#include "ouro/train/trainer.h"

using namespace ouro;

int main() {
  // Versicolor (1) and virginica (2) only, relabelled 0/1 and one-hot encoded for MSE.
  const Dataset iris = load_iris();
  std::vector<std::int64_t> keep;
  const auto labels = iris.targets.to_index_vector();
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0) keep.push_back(static_cast<std::int64_t>(i));
  Dataset two = iris.subset(keep);
  two.inputs = index_select(two.inputs, 1, Tensor::from_indices({0, 2, 3}, {3}));
  std::vector<float> one_hot;
  for (std::int64_t label : two.targets.to_index_vector()) {
    one_hot.push_back(label == 1 ? 1.f : 0.f);
    one_hot.push_back(label == 2 ? 1.f : 0.f);
  }
  two.targets = Tensor::from_vector(one_hot, {two.size(), 2});

  TrainTestSplit split = train_test_split(two, 0.2, 2024);
  StandardScaler scaler;
  split.train.inputs = scaler.fit_transform(split.train.inputs);
  split.test.inputs = scaler.transform(split.test.inputs);

  Generator gen(2024);
  auto model = std::make_shared<Sequential>(Sequential{
      std::make_shared<Dense>(LinearOptions{.in = 3, .out = 5, .activation = ActivationKind::Relu, .generator = &gen}),
      std::make_shared<Dense>(LinearOptions{.in = 5, .out = 2, .generator = &gen})});
  std::printf("%s", summary(*model, {3}).c_str());

  Trainer trainer(model);
  trainer.compile({.optimizer = std::make_shared<Adam>(model->parameters(), AdamOptions{.lr = 0.02}),
                   .loss = "mse",
                   .metrics = {"accuracy"}});
  const History history = trainer.fit(split.train, {.epochs = 60,
                                                    .batch_size = 16,
                                                    .validation_split = 0.2,
                                                    .seed = 2024,
                                                    .verbose = Verbosity::Lines});
  const auto test = trainer.evaluate(split.test);
  const double first = history["loss"].front(), last = history["loss"].back();
  std::printf("test: mse %.4f, accuracy %.3f (training loss %.4f -> %.4f)\n", test.at("loss"), test.at("accuracy"),
              first, last);
  return (last < 0.5 * first && test.at("accuracy") >= 0.85) ? 0 : 1;
}
