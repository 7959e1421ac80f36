#include "ouro/data/linear_solve.h"

#include <cmath>
#include <utility>

#include "ouro/core/error.h"

namespace ouro {

std::vector<double> solve_linear_system(std::vector<double> a, std::vector<double> b, const std::string& what) {
  const std::size_t n = b.size();
  OURO_CHECK(a.size() == n * n, what, ": a linear system of ", n, " unknowns needs ", n * n, " coefficients, got ",
             a.size());
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    OURO_CHECK(a[pivot * n + col] != 0, what, ": the normal equations are singular");
    for (std::size_t c = 0; c < n; ++c) std::swap(a[col * n + c], a[pivot * n + c]);
    std::swap(b[col], b[pivot]);
    for (std::size_t r = col + 1; r < n; ++r) {
      const double factor = a[r * n + col] / a[col * n + col];
      for (std::size_t c = col; c < n; ++c) a[r * n + c] -= factor * a[col * n + c];
      b[r] -= factor * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t c = i + 1; c < n; ++c) s -= a[i * n + c] * x[c];
    x[i] = s / a[i * n + i];
  }
  return x;
}

}  // namespace ouro
