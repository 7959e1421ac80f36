// Scalers: statistics from the training split only, values against hand-computed ones
// (scikit-learn's definitions), inverses, constant features, and state round trips.
#include "gradcheck.h"
#include "ouro/data/scaler.h"

namespace ouro::testing {
namespace {

TEST(Scaler, StandardUsesTrainingStatisticsOnly) {
  // Feature 0: 1, 2, 3 (mean 2, population std sqrt(2/3)); feature 1 constant 5 (std 0 -> 1).
  const Tensor train = Tensor::from_vector(std::vector<float>{1, 5, 2, 5, 3, 5}, {3, 2});
  const Tensor test = Tensor::from_vector(std::vector<float>{4, 7}, {1, 2});
  StandardScaler scaler;
  const Tensor z = scaler.fit_transform(train);
  const double s = std::sqrt(2.0 / 3.0);
  expect_values(scaler.mean(), {2, 5});
  expect_values(scaler.scale(), {s, 1});
  expect_values(z, {-1 / s, 0, 0, 0, 1 / s, 0}, 1e-6);
  EXPECT_EQ(z.dtype(), DType::Float32);
  // The test row is scaled with the training mean and std, not its own.
  expect_values(scaler.transform(test), {2 / s, 2}, 1e-6);
  expect_values(scaler.inverse_transform(z), train.to_vector(), 1e-6);

  StandardScaler restored;
  restored.load_state_dict(scaler.state_dict());
  expect_values(restored.transform(test), scaler.transform(test).to_vector(), 0);
  expect_error([&] { scaler.transform(Tensor::zeros({2, 3})); }, {"StandardScaler::transform", "fitted on 2 features"});
  expect_error([&] { StandardScaler().transform(train); }, {"call fit"});
  expect_error([&] { restored.load_state_dict({{"mean", Tensor::zeros({2})}}); }, {"no 'scale' tensor"});
}

TEST(Scaler, MinMaxMapsTrainingRangeOntoTheTarget) {
  const Tensor train = Tensor::from_vector(std::vector<double>{0, 3, 10, 3, 5, 3}, {3, 2}, DType::Float64);
  MinMaxScaler scaler(-1, 1);
  const Tensor y = scaler.fit_transform(train);
  EXPECT_EQ(y.dtype(), DType::Float64);
  // Feature 1 is constant (range 0 -> 1): it maps to low.
  expect_values(y, {-1, -1, 1, -1, 0, -1});
  const Tensor outside = Tensor::from_vector(std::vector<double>{20, 4}, {1, 2}, DType::Float64);
  expect_values(scaler.transform(outside), {3, 1});  // not clipped
  expect_values(scaler.inverse_transform(scaler.transform(outside)), {20, 4});

  MinMaxScaler restored;
  restored.load_state_dict(scaler.state_dict());
  EXPECT_EQ(restored.low(), -1);
  EXPECT_EQ(restored.high(), 1);
  expect_values(restored.transform(train), y.to_vector(), 0);
  expect_error([] { MinMaxScaler(1, 1); }, {"low < high"});
  expect_error([&] { scaler.fit(Tensor::zeros({4}, DType::Float32)); }, {"MinMaxScaler::fit", "[N, F]"});
}

}  // namespace
}  // namespace ouro::testing
