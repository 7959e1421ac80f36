// The README's example: least-squares fit of iris petal width from petal length (real data).
#include <cstdio>
#include "ouro/ouro.h"
using namespace ouro;

int main() {
  CsvTable iris = read_numeric_csv(sklearn_data_file("iris.csv"), 1);
  std::vector<float> length, width;
  for (auto& row : iris.rows) { length.push_back(float(row[2])); width.push_back(float(row[3])); }
  const std::int64_t n = std::int64_t(length.size());
  Tensor x = Tensor::from_vector(length, {n, 1}), y = Tensor::from_vector(width, {n, 1});
  Tensor w = Tensor::zeros({1, 1}).set_requires_grad(), b = Tensor::zeros({1}).set_requires_grad();
  for (int step = 0; step <= 2000; ++step) {
    Tensor loss = mean(pow(sub(add(matmul(x, w), b), y), 2.0));
    loss.backward();
    for (Tensor p : {w, b}) { *p.data<float>() -= 0.05f * *p.grad().data<float>(); p.zero_grad(); }
    if (step % 500 == 0) std::printf("step %4d  mse %.4f  width = %.3f * length %+.3f\n", step, loss.item(), w.item(), b.item());
  }
}
