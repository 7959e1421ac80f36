// Dense linear systems in double, for the small least-squares fits of the classical
// baselines (normal equations of a few dozen unknowns): no BLAS needed at this size.
#pragma once
#include <string>
#include <vector>

namespace ouro {

// Solves a x = b, a being n x n row-major and b of length n, by Gaussian elimination with
// partial pivoting. A singular system is an error that begins with `what` (the caller's name).
std::vector<double> solve_linear_system(std::vector<double> a, std::vector<double> b, const std::string& what);

}  // namespace ouro
