// The attention kernel's `assign` mode (used by packed_qkv_attention for a new gradient buffer)
// against its adding mode on zeroed buffers: the same values, bit for bit, with every element
// of the gradients written although the buffers start as NaN. Shapes cover several query and
// key blocks, queries that are the last of more keys (the KV-cache offset), no mask, and no
// queries at all.
#include "ouro/kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace ouro::testing {
namespace {

TEST(AttentionKernel, AssignModeSetsWhatAddingIntoZerosGives) {
  const kernels::AttentionShape shapes[] = {{2, 3, 70, 70, 5, true},  {1, 2, 37, 100, 8, true},
                                            {1, 1, 1, 130, 4, true},  {1, 2, 45, 67, 7, false},
                                            {1, 1, 80, 33, 3, false}, {2, 1, 0, 9, 4, true}};
  for (const kernels::AttentionShape& s : shapes) {
    SCOPED_TRACE("queries " + std::to_string(s.queries) + " keys " + std::to_string(s.keys) +
                 (s.causal ? " causal" : " full"));
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    const std::int64_t D = s.head_dim, H = s.heads;
    auto tensor = [&](std::int64_t t) {
      std::vector<float> v(static_cast<std::size_t>(s.batch * H * t * D));
      for (float& x : v) x = normal(rng);
      return v;
    };
    const kernels::AttentionStrides qs{H * s.queries * D, s.queries * D, D}, ks{H * s.keys * D, s.keys * D, D};
    const std::vector<float> q = tensor(s.queries), k = tensor(s.keys), v = tensor(s.keys), g = tensor(s.queries);
    std::vector<float> out(q.size()), lse(static_cast<std::size_t>(s.batch * H * s.queries));
    kernels::attention_forward<float>(s, 0.4f, q.data(), qs, k.data(), ks, v.data(), ks, out.data(), qs, lse.data());
    std::vector<float> added[3] = {std::vector<float>(q.size()), std::vector<float>(k.size()),
                                   std::vector<float>(v.size())};
    kernels::attention_backward<float>(s, 0.4f, q.data(), qs, k.data(), ks, v.data(), ks, out.data(), qs, g.data(),
                                       qs, lse.data(), added[0].data(), qs, added[1].data(), ks, added[2].data(), ks);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> assigned[3] = {std::vector<float>(q.size(), nan), std::vector<float>(k.size(), nan),
                                      std::vector<float>(v.size(), nan)};
    kernels::attention_backward<float>(s, 0.4f, q.data(), qs, k.data(), ks, v.data(), ks, out.data(), qs, g.data(),
                                       qs, lse.data(), assigned[0].data(), qs, assigned[1].data(), ks,
                                       assigned[2].data(), ks, true);
    for (int t = 0; t < 3; ++t)
      for (std::size_t i = 0; i < added[t].size(); ++i)
        ASSERT_EQ(assigned[t][i], added[t][i]) << "gradient " << "qkv"[t] << " element " << i;
  }
}

}  // namespace
}  // namespace ouro::testing
