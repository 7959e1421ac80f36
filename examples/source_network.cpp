// The source document's network, trained on real data: 3 inputs -> Dense(5, ReLU) -> 2
// outputs, mean squared error against one-hot targets, and a hand-written Adam step over
// the autodiff API. The task is scikit-learn's iris data: tell Iris versicolor from Iris
// virginica by sepal length, petal length and petal width (the two species overlap, so this
// is not a trivially separable toy).
//
// The document also puts a ReLU on the output layer; with MSE against 0/1 targets that kills
// the gradient of any output that goes negative, so the output here is linear.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "ouro/ouro.h"

using namespace ouro;

namespace {

struct Split {
  Tensor x_train, y_train, x_test, y_test;
};

// Versicolor (label 1) and virginica (label 2): features 0, 2, 3 standardised with the
// training set's statistics, one-hot targets, a seeded 80/20 split.
Split load_iris(Generator& gen) {
  const CsvTable table = read_numeric_csv(sklearn_data_file("iris.csv"), 1);
  std::vector<std::vector<double>> rows;
  for (const auto& row : table.rows)
    if (row.at(4) == 1 || row.at(4) == 2) rows.push_back(row);
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[gen.integer(static_cast<std::int64_t>(i))]);
  const std::size_t n_train = rows.size() * 4 / 5;
  const int features[3] = {0, 2, 3};
  double mean[3] = {0, 0, 0}, stddev[3] = {0, 0, 0};
  for (int f = 0; f < 3; ++f) {
    for (std::size_t i = 0; i < n_train; ++i) mean[f] += rows[i][features[f]] / n_train;
    for (std::size_t i = 0; i < n_train; ++i) stddev[f] += std::pow(rows[i][features[f]] - mean[f], 2) / n_train;
    stddev[f] = std::sqrt(stddev[f]);
  }
  auto build = [&](std::size_t begin, std::size_t end, Tensor& x, Tensor& y) {
    std::vector<float> xs, ys;
    for (std::size_t i = begin; i < end; ++i) {
      for (int f = 0; f < 3; ++f) xs.push_back(static_cast<float>((rows[i][features[f]] - mean[f]) / stddev[f]));
      ys.push_back(rows[i][4] == 1 ? 1.f : 0.f);
      ys.push_back(rows[i][4] == 2 ? 1.f : 0.f);
    }
    const auto n = static_cast<std::int64_t>(end - begin);
    x = Tensor::from_vector(xs, {n, 3});
    y = Tensor::from_vector(ys, {n, 2});
  };
  Split s;
  build(0, n_train, s.x_train, s.y_train);
  build(n_train, rows.size(), s.x_test, s.y_test);
  return s;
}

// Adam (Kingma & Ba, 2015) written out by hand on raw parameter memory.
struct HandWrittenAdam {
  std::vector<Tensor> params, m, v;
  double lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int t = 0;
  explicit HandWrittenAdam(std::vector<Tensor> p) : params(std::move(p)) {
    for (const Tensor& q : params) {
      m.push_back(Tensor::zeros(q.shape()));
      v.push_back(Tensor::zeros(q.shape()));
    }
  }
  void step() {
    ++t;
    const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
    for (std::size_t k = 0; k < params.size(); ++k) {
      float* w = params[k].data<float>();
      const float* g = params[k].grad().data<float>();
      float* mk = m[k].data<float>();
      float* vk = v[k].data<float>();
      for (std::int64_t i = 0; i < params[k].numel(); ++i) {
        mk[i] = static_cast<float>(beta1 * mk[i] + (1 - beta1) * g[i]);
        vk[i] = static_cast<float>(beta2 * vk[i] + (1 - beta2) * g[i] * g[i]);
        w[i] -= static_cast<float>(lr * (mk[i] / c1) / (std::sqrt(vk[i] / c2) + eps));
      }
      params[k].zero_grad();
    }
  }
};

}  // namespace

int main() {
  Generator gen(2024);
  const Split data = load_iris(gen);
  // He initialisation for the ReLU layer, Glorot-scaled output layer.
  Tensor w1 = randn({3, 5}, 0, std::sqrt(2.0 / 3), DType::Float32, &gen).set_requires_grad();
  Tensor b1 = Tensor::zeros({5}).set_requires_grad();
  Tensor w2 = randn({5, 2}, 0, std::sqrt(1.0 / 5), DType::Float32, &gen).set_requires_grad();
  Tensor b2 = Tensor::zeros({2}).set_requires_grad();
  auto forward = [&](const Tensor& x) { return add(matmul(relu(add(matmul(x, w1), b1)), w2), b2); };
  auto accuracy = [&](const Tensor& x, const Tensor& y) {
    NoGradGuard no_grad;
    const auto predicted = argmax(forward(x), 1).to_index_vector(), truth = argmax(y, 1).to_index_vector();
    std::size_t right = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
    return static_cast<double>(right) / static_cast<double>(truth.size());
  };

  HandWrittenAdam adam({w1, b1, w2, b2});
  const std::int64_t n = data.x_train.size(0), batch = 16;
  std::printf("ouro demo: the source document's 3-5-2 network on iris (versicolor vs virginica)\n");
  std::printf("train %lld samples, test %lld, Adam lr %.3g, batch %lld\n", static_cast<long long>(n),
              static_cast<long long>(data.x_test.size(0)), adam.lr, static_cast<long long>(batch));
  double first_loss = 0, last_loss = 0;
  for (int epoch = 1; epoch <= 150; ++epoch) {
    double epoch_loss = 0;
    for (std::int64_t start = 0; start < n; start += batch) {
      const std::int64_t len = std::min(batch, n - start);
      Tensor loss = mean(pow(sub(forward(narrow(data.x_train, 0, start, len)), narrow(data.y_train, 0, start, len)), 2.0));
      loss.backward();
      adam.step();
      epoch_loss += loss.item() * static_cast<double>(len) / static_cast<double>(n);
    }
    if (epoch == 1) first_loss = epoch_loss;
    last_loss = epoch_loss;
    if (epoch == 1 || epoch % 15 == 0)
      std::printf("epoch %3d  mse %.4f  train accuracy %.3f\n", epoch, epoch_loss, accuracy(data.x_train, data.y_train));
  }
  const double test_accuracy = accuracy(data.x_test, data.y_test);
  std::printf("test accuracy %.3f (loss %.4f -> %.4f)\n", test_accuracy, first_loss, last_loss);
  // Exit non-zero if it did not learn, so the test suite notices.
  return (last_loss < 0.5 * first_loss && test_accuracy >= 0.85) ? 0 : 1;
}
