#include <cmath>
#include <sstream>

#include "fixture.h"
#include "gradcheck.h"
#include "ouro/ops/attention.h"
#include "ouro/ops/shape_ops.h"

namespace ouro::testing {
namespace {

using AttentionFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const AttentionOptions&);

struct NamedAttention {
  const char* name;
  AttentionFn fn;
};

const NamedAttention kImplementations[] = {{"fused", scaled_dot_product_attention},
                                           {"reference", scaled_dot_product_attention_reference}};

AttentionOptions fixture_options(const nlohmann::json& c) {
  AttentionOptions options;
  options.causal = c.at("causal").get<bool>();
  if (c.contains("scale")) options.scale = c.at("scale").get<double>();
  return options;
}

TEST(Attention, MatchesPyTorch) {
  const auto fixtures = load_fixture("attention_fixtures.json");
  ASSERT_FALSE(fixtures.at("cases").empty());
  for (const NamedAttention& impl : kImplementations)
    for (const auto& c : fixtures.at("cases")) {
      Tensor q = fixture_tensor(c.at("q")), k = fixture_tensor(c.at("k")), v = fixture_tensor(c.at("v"));
      SCOPED_TRACE(std::string(impl.name) + " q " + q.describe() + " k " + k.describe());
      const AttentionOptions options = fixture_options(c);
      for (Tensor* t : {&q, &k, &v}) t->set_requires_grad(true);
      Tensor out = impl.fn(q, k, v, options);
      expect_values(out, fixture_tensor(c.at("output")).to_vector(), 1e-12);
      out.backward(fixture_tensor(c.at("grad_output")));
      expect_values(q.grad(), fixture_tensor(c.at("grad_q")).to_vector(), 1e-11);
      expect_values(k.grad(), fixture_tensor(c.at("grad_k")).to_vector(), 1e-11);
      expect_values(v.grad(), fixture_tensor(c.at("grad_v")).to_vector(), 1e-11);

      Tensor q32 = fixture_tensor(c.at("q"), DType::Float32), k32 = fixture_tensor(c.at("k"), DType::Float32),
             v32 = fixture_tensor(c.at("v"), DType::Float32);
      for (Tensor* t : {&q32, &k32, &v32}) t->set_requires_grad(true);
      Tensor out32 = impl.fn(q32, k32, v32, options);
      EXPECT_EQ(out32.dtype(), DType::Float32);
      expect_values(out32, fixture_tensor(c.at("output")).to_vector(), 1e-5);
      out32.backward(fixture_tensor(c.at("grad_output"), DType::Float32));
      expect_values(q32.grad(), fixture_tensor(c.at("grad_q")).to_vector(), 1e-4);
      expect_values(k32.grad(), fixture_tensor(c.at("grad_k")).to_vector(), 1e-4);
      expect_values(v32.grad(), fixture_tensor(c.at("grad_v")).to_vector(), 1e-4);
    }
}

struct GradCase {
  std::int64_t b, h, tq, tk, d;
  bool causal;
};

TEST(Attention, GradientCheck) {
  const GradCase cases[] = {{1, 2, 4, 4, 3, true}, {2, 1, 2, 5, 3, true}, {1, 1, 1, 1, 2, true}, {1, 2, 3, 4, 2, false}};
  for (const NamedAttention& impl : kImplementations)
    for (const GradCase& g : cases) {
      SCOPED_TRACE(std::string(impl.name) + " tq " + std::to_string(g.tq) + " tk " + std::to_string(g.tk) +
                   (g.causal ? " causal" : " full"));
      AttentionOptions options;
      options.causal = g.causal;
      options.scale = 0.7;
      expect_gradients_match([&](const std::vector<Tensor>& in) { return impl.fn(in[0], in[1], in[2], options); },
                             {random_leaf({g.b, g.h, g.tq, g.d}, 1), random_leaf({g.b, g.h, g.tk, g.d}, 2),
                              random_leaf({g.b, g.h, g.tk, g.d}, 3)});
    }
}

TEST(Attention, DropoutGradientCheck) {
  // The generator is reseeded on every evaluation, so each one drops the same probabilities.
  for (const NamedAttention& impl : kImplementations) {
    SCOPED_TRACE(impl.name);
    expect_gradients_match(
        [&](const std::vector<Tensor>& in) {
          Generator gen(77);
          AttentionOptions options;
          options.dropout_p = 0.3;
          options.training = true;
          options.generator = &gen;
          return impl.fn(in[0], in[1], in[2], options);
        },
        {random_leaf({1, 2, 4, 3}, 4), random_leaf({1, 2, 4, 3}, 5), random_leaf({1, 2, 4, 3}, 6)});
  }
}

TEST(Attention, DropoutIsSeededAndOnlyInTraining) {
  Generator init(9);
  const Tensor q = randn({2, 2, 6, 4}, 0, 1, DType::Float32, &init), k = randn({2, 2, 6, 4}, 0, 1, DType::Float32, &init),
               v = randn({2, 2, 6, 4}, 0, 1, DType::Float32, &init);
  AttentionOptions eval;
  eval.dropout_p = 0.5;
  const std::vector<double> plain = scaled_dot_product_attention(q, k, v).to_vector();
  EXPECT_EQ(scaled_dot_product_attention(q, k, v, eval).to_vector(), plain);  // eval ignores dropout

  auto run = [&](std::uint64_t seed) {
    Generator gen(seed);
    AttentionOptions train = eval;
    train.training = true;
    train.generator = &gen;
    return scaled_dot_product_attention(q, k, v, train).to_vector();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
  EXPECT_NE(run(5), plain);

  AttentionOptions all;
  all.dropout_p = 1;
  all.training = true;
  for (double x : scaled_dot_product_attention(q, k, v, all).to_vector()) EXPECT_EQ(x, 0);
}

TEST(Attention, CausalFirstQuerySeesOnlyFirstKey) {
  // With Tq == Tk the first query attends to key 0 alone, so its output is v[0] exactly.
  Generator gen(1);
  const Tensor q = randn({1, 1, 3, 2}, 0, 1, DType::Float64, &gen), k = randn({1, 1, 3, 2}, 0, 1, DType::Float64, &gen),
               v = randn({1, 1, 3, 2}, 0, 1, DType::Float64, &gen);
  const std::vector<double> out = scaled_dot_product_attention(q, k, v).to_vector();
  const std::vector<double> vv = v.to_vector();
  EXPECT_DOUBLE_EQ(out[0], vv[0]);
  EXPECT_DOUBLE_EQ(out[1], vv[1]);
}

struct Problem {
  std::int64_t b, h, tq, tk, d;
  bool causal;
};

std::string describe(const Problem& p) {
  std::ostringstream out;
  out << "[" << p.b << ", " << p.h << ", " << p.tq << "/" << p.tk << ", " << p.d << "]" << (p.causal ? " causal" : " full");
  return out.str();
}

// Output and the three input gradients of `fn` for a seeded problem and output weighting.
std::vector<std::vector<double>> run_problem(AttentionFn fn, const Problem& p, DType dtype, std::uint64_t seed) {
  Generator gen(seed);
  Tensor q = randn({p.b, p.h, p.tq, p.d}, 0, 1, dtype, &gen), k = randn({p.b, p.h, p.tk, p.d}, 0, 1, dtype, &gen),
         v = randn({p.b, p.h, p.tk, p.d}, 0, 1, dtype, &gen);
  const Tensor g = randn({p.b, p.h, p.tq, p.d}, 0, 1, dtype, &gen);
  for (Tensor* t : {&q, &k, &v}) t->set_requires_grad(true);
  AttentionOptions options;
  options.causal = p.causal;
  Tensor out = fn(q, k, v, options);
  out.backward(g);
  return {out.to_vector(), q.grad().to_vector(), k.grad().to_vector(), v.grad().to_vector()};
}

// Shapes that cross the kernel's blocks (32 queries, 64 keys) and stop inside them.
const Problem kBlockProblems[] = {
    {2, 3, 70, 70, 5, true},    // several query and key blocks, none full at the end
    {1, 2, 37, 100, 8, true},   // KV-cache offset: 37 queries are the last of 100 positions
    {2, 2, 1, 130, 16, true},   // one new token over three key blocks
    {1, 1, 1, 1, 4, true},      // T = 1
    {1, 2, 45, 67, 7, false},   // no mask, fewer queries than keys
    {1, 1, 80, 33, 3, false},   // no mask, more queries than keys
    {2, 4, 128, 128, 32, true}, // the gpt benchmark's head shape
};

TEST(AttentionFused, MatchesCompositionForwardAndGradients) {
  const char* what[] = {"output", "grad q", "grad k", "grad v"};
  for (DType dtype : {DType::Float64, DType::Float32})
    for (const Problem& p : kBlockProblems) {
      SCOPED_TRACE(describe(p) + (dtype == DType::Float32 ? " float32" : " float64"));
      const auto fused = run_problem(scaled_dot_product_attention, p, dtype, 11);
      const auto reference = run_problem(scaled_dot_product_attention_reference, p, dtype, 11);
      for (std::size_t i = 0; i < fused.size(); ++i) {
        SCOPED_TRACE(what[i]);
        expect_values(Tensor::from_vector(fused[i], {static_cast<std::int64_t>(fused[i].size())}, DType::Float64),
                      reference[i], dtype == DType::Float64 ? 1e-12 : 2e-5);
      }
    }
}

TEST(AttentionFused, GradientCheckAcrossBlocks) {
  const Problem problems[] = {{1, 1, 70, 70, 2, true}, {1, 1, 35, 75, 2, true}, {1, 1, 33, 66, 2, false}};
  for (const Problem& p : problems) {
    SCOPED_TRACE(describe(p));
    AttentionOptions options;
    options.causal = p.causal;
    expect_gradients_match(
        [&](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], options); },
        {random_leaf({p.b, p.h, p.tq, p.d}, 7), random_leaf({p.b, p.h, p.tk, p.d}, 8),
         random_leaf({p.b, p.h, p.tk, p.d}, 9)});
  }
}

TEST(AttentionFused, ReadsStridedViewsOfAPackedProjection) {
  // q, k, v as a model makes them: one [B, T, 3, H, D] projection, permuted to [B, H, T, D] views.
  Generator gen(5);
  const std::int64_t B = 2, T = 40, H = 3, D = 6;
  Tensor packed = randn({B, T, 3, H, D}, 0, 1, DType::Float64, &gen);
  packed.set_requires_grad(true);
  auto part = [&](std::int64_t i) {  // a fresh graph each time: backward frees the one it used
    return squeeze(narrow(permute(packed, {2, 0, 3, 1, 4}), 0, i, 1), 0);  // of [3, B, H, T, D]
  };
  const Tensor g = randn({B, H, T, D}, 0, 1, DType::Float64, &gen);
  Tensor out = scaled_dot_product_attention(part(0), part(1), part(2));
  EXPECT_FALSE(part(0).is_contiguous());
  EXPECT_TRUE(transpose(out, 1, 2).is_contiguous());  // heads merge without a copy
  out.backward(g);
  const std::vector<double> fused_grad = packed.grad().to_vector();
  packed.zero_grad();
  Tensor reference = scaled_dot_product_attention_reference(part(0), part(1), part(2));
  reference.backward(g);
  expect_values(out, reference.to_vector(), 1e-12);
  expect_values(packed.grad(), fused_grad, 1e-12);
}

TEST(AttentionFused, SameBitsOnOneAndTwoThreads) {
  const Problem p{2, 2, 64, 64, 16, true};
  const int saved = num_threads();
  set_num_threads(1);
  const auto one = run_problem(scaled_dot_product_attention, p, DType::Float32, 3);
  set_num_threads(2);
  const auto two = run_problem(scaled_dot_product_attention, p, DType::Float32, 3);
  set_num_threads(saved);
  EXPECT_EQ(one, two);
}

// packed_qkv_attention against its definition: split the [B, T, 3C] projection into heads, the
// unfused reference attention, merge the heads. Forward and the gradient of qkv, across the
// kernel's blocks and at the gpt benchmark's shape, in both dtypes.
Tensor packed_by_composition(const Tensor& qkv, std::int64_t heads, const AttentionOptions& options) {
  const std::int64_t B = qkv.size(0), T = qkv.size(1), width = qkv.size(2) / 3, D = width / heads;
  const std::vector<Tensor> parts = split(qkv, width, -1);
  auto split_heads = [&](const Tensor& t) { return permute(reshape(t, {B, T, heads, D}), {0, 2, 1, 3}); };
  const Tensor y = scaled_dot_product_attention_reference(split_heads(parts[0]), split_heads(parts[1]),
                                                          split_heads(parts[2]), options);
  return reshape(permute(y, {0, 2, 1, 3}), {B, T, width});
}

TEST(PackedQkvAttention, MatchesSplitAttendMergeForwardAndGradient) {
  struct Shape3 {
    std::int64_t b, t, heads, d;
    bool causal;
  };
  const Shape3 shapes[] = {{2, 70, 3, 5, true}, {1, 1, 2, 4, true}, {1, 33, 1, 7, false}, {2, 128, 4, 32, true}};
  for (DType dtype : {DType::Float64, DType::Float32})
    for (const Shape3& s : shapes) {
      SCOPED_TRACE("B " + std::to_string(s.b) + " T " + std::to_string(s.t) + " heads " + std::to_string(s.heads) +
                   " D " + std::to_string(s.d) + (dtype == DType::Float32 ? " float32" : " float64"));
      Generator gen(21);
      const Tensor qkv = randn({s.b, s.t, 3 * s.heads * s.d}, 0, 1, dtype, &gen);
      const Tensor g = randn({s.b, s.t, s.heads * s.d}, 0, 1, dtype, &gen);
      AttentionOptions options;
      options.causal = s.causal;
      std::vector<std::vector<double>> results[2];
      for (int which = 0; which < 2; ++which) {
        Tensor x = qkv.detach().copy().set_requires_grad();
        Tensor out = which == 0 ? packed_qkv_attention(x, s.heads, options) : packed_by_composition(x, s.heads, options);
        EXPECT_EQ(out.shape(), (Shape{s.b, s.t, s.heads * s.d}));
        out.backward(g);
        results[which] = {out.to_vector(), x.grad().to_vector()};
      }
      const double tolerance = dtype == DType::Float64 ? 1e-12 : 2e-5;
      for (std::size_t i = 0; i < 2; ++i)
        expect_values(Tensor::from_vector(results[0][i], {static_cast<std::int64_t>(results[0][i].size())},
                                          DType::Float64),
                      results[1][i], tolerance);
    }
}

TEST(PackedQkvAttention, GradientCheck) {
  for (bool causal : {true, false}) {
    SCOPED_TRACE(causal ? "causal" : "full");
    AttentionOptions options;
    options.causal = causal;
    options.scale = 0.6;
    expect_gradients_match([&](const std::vector<Tensor>& in) { return packed_qkv_attention(in[0], 2, options); },
                           {random_leaf({2, 35, 3 * 2 * 3}, 31)});
  }
  // qkv used twice: whichever backward runs second adds to what the first one wrote (the
  // kernel assigns into a new buffer and adds into an existing one). The engine runs the
  // consumers of add's second input first, so both orders are covered.
  for (bool attention_first : {true, false}) {
    SCOPED_TRACE(attention_first ? "attention's backward first" : "attention's backward second");
    expect_gradients_match(
        [&](const std::vector<Tensor>& in) {
          const Tensor attended = packed_qkv_attention(in[0], 2), q = narrow(in[0], 2, 0, 6);
          return attention_first ? add(q, attended) : add(attended, q);
        },
        {random_leaf({1, 9, 3 * 2 * 3}, 32)});
  }
}

TEST(PackedQkvAttention, DropoutInTrainingGoesThroughTheComposition) {
  // Seeded dropout: the packed op equals split + attention + merge with the same draws.
  Generator init(4);
  const Tensor qkv = randn({2, 6, 3 * 2 * 4}, 0, 1, DType::Float64, &init);
  auto run = [&](bool packed) {
    Generator gen(5);
    AttentionOptions options;
    options.dropout_p = 0.4;
    options.training = true;
    options.generator = &gen;
    if (packed) return packed_qkv_attention(qkv, 2, options).to_vector();
    const std::vector<Tensor> parts = split(qkv, 8, -1);
    auto heads = [&](const Tensor& t) { return permute(reshape(t, {2, 6, 2, 4}), {0, 2, 1, 3}); };
    return reshape(permute(scaled_dot_product_attention(heads(parts[0]), heads(parts[1]), heads(parts[2]), options),
                           {0, 2, 1, 3}),
                   {2, 6, 8})
        .to_vector();
  };
  EXPECT_EQ(run(true), run(false));
  EXPECT_NE(run(true), packed_qkv_attention(qkv, 2).to_vector());
}

TEST(PackedQkvAttention, BadInputsNameTheShape) {
  expect_error([] { packed_qkv_attention(Tensor::zeros({2, 3, 10}), 2); }, {"packed_qkv_attention", "[2, 3, 10]", "2 heads"});
  expect_error([] { packed_qkv_attention(Tensor::zeros({3, 12}), 2); }, {"packed_qkv_attention", "[3, 12]"});
  expect_error([] { packed_qkv_attention(Tensor::zeros({1, 3, 12}), 0); }, {"heads must be positive", "0"});
}

TEST(Attention, BadInputsNameTheTensor) {
  const Tensor q = Tensor::zeros({1, 2, 3, 4}), k = Tensor::zeros({1, 2, 5, 4});
  expect_error([&] { scaled_dot_product_attention(q, Tensor::zeros({1, 2, 5, 3}), k); }, {"k must be", "[1, 2, 5, 3]"});
  expect_error([&] { scaled_dot_product_attention(q, k, Tensor::zeros({1, 2, 4, 4})); }, {"v must have k's shape"});
  expect_error([&] { scaled_dot_product_attention(Tensor::zeros({2, 3, 4}), k, k); }, {"q must be", "[2, 3, 4]"});
  expect_error([&] { scaled_dot_product_attention(k, q, q); }, {"at least as many keys as queries"});
  expect_error([&] { scaled_dot_product_attention(q, k.to(DType::Float64), k); }, {"share a dtype"});
  AttentionOptions bad;
  bad.dropout_p = 1.5;
  expect_error([&] { scaled_dot_product_attention(q, k, k, bad); }, {"dropout_p"});
  AttentionOptions full;
  full.causal = false;
  EXPECT_EQ(scaled_dot_product_attention(k, q, q, full).shape(), Shape({1, 2, 5, 4}));  // fewer keys is fine unmasked
}

}  // namespace
}  // namespace ouro::testing
