// solve_linear_system: the Gaussian elimination behind the least-squares baselines.
#include <gtest/gtest.h>

#include "gradcheck.h"
#include "ouro/data/linear_solve.h"

namespace ouro {
namespace {
using testing::expect_error;

TEST(LinearSolve, SolvesASystemWhoseFirstPivotIsZero) {
  // a has a zero in its top-left corner, so elimination without row exchanges would divide by
  // zero; x = (1, -2, 3) is the solution by construction (b = a x).
  const std::vector<double> a{0, 2, 1,  //
                              4, 1, -1,  //
                              2, -3, 5};
  const std::vector<double> x{1, -2, 3};
  std::vector<double> b(3, 0.0);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) b[i] += a[i * 3 + j] * x[j];
  const std::vector<double> solved = solve_linear_system(a, b, "test");
  ASSERT_EQ(solved.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(solved[i], x[i], 1e-12) << "unknown " << i;
}

TEST(LinearSolve, ASingularSystemOrAMisshapedOneIsAnErrorNamingTheCaller) {
  expect_error([] { solve_linear_system({1, 2, 2, 4}, {1, 2}, "my_fit"); }, {"my_fit", "singular"});
  expect_error([] { solve_linear_system({1, 2, 3}, {1, 2}, "my_fit"); }, {"my_fit", "2 unknowns", "4 coefficients"});
}

}  // namespace
}  // namespace ouro
