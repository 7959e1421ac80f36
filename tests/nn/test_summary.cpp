// Tests of summary(): layer names, output shapes with None for the batch, connections, and the
// exact parameter counts, for a GraphModel and a Sequential.
#include "gradcheck.h"
#include "ouro/nn/graph.h"
#include "ouro/nn/layers.h"
#include "ouro/nn/linear.h"
#include "ouro/nn/summary.h"

namespace ouro::testing {
namespace {

void expect_contains(const std::string& text, const std::vector<std::string>& fragments) {
  for (const auto& fragment : fragments)
    EXPECT_NE(text.find(fragment), std::string::npos) << "missing: " << fragment << "\nin:\n" << text;
}

std::shared_ptr<GraphModel> feedback_model() {
  const std::int64_t T = 6, F = 2;
  Sym seq = Input({T, F}, "seq");
  Sym summary = call(std::make_shared<Linear>(T * F, 8, ActivationKind::Relu), call(std::make_shared<Flatten>(), seq));
  Sym joined = call(std::make_shared<Concatenate>(), {seq, call(std::make_shared<RepeatVector>(T), summary)});
  return std::make_shared<GraphModel>(seq, call(std::make_shared<Linear>(F + 8, 3, ActivationKind::Softmax), joined));
}

TEST(Summary, GraphModelTable) {
  auto model = feedback_model();
  const std::string text = summary(*model);
  expect_contains(text, {"Model: \"Model\"", "Layer (type)", "Output Shape", "Param #", "Connected to",
                         "seq (InputLayer)", "(None, 6, 2)", "flatten (Flatten)", "(None, 12)", "linear (Linear)",
                         "(None, 8)", "repeat_vector (RepeatVector)", "(None, 6, 8)", "concatenate (Concatenate)",
                         "(None, 6, 10)", "linear_1 (Linear)", "(None, 6, 3)", "seq[0][0]", "repeat_vector[0][0]",
                         "Total params: 137", "Trainable params: 137", "Non-trainable params: 0"});
  // One line per connection: Concatenate reads the sequence and the repeated summary.
  const auto row = text.find("concatenate (Concatenate)");
  const auto next_line = text.find('\n', row);
  EXPECT_NE(text.substr(row, next_line - row).find("seq[0][0]"), std::string::npos);
  EXPECT_NE(text.find("repeat_vector[0][0]", next_line), std::string::npos);
  // 12 * 8 + 8 = 104 in the first Linear, 10 * 3 + 3 = 33 in the second.
  expect_contains(text, {"104", "33"});
  model->freeze("linear.*");
  expect_contains(summary(*model), {"Total params: 137", "Trainable params: 33", "Non-trainable params: 104"});
  EXPECT_EQ(summary(*model, {6, 2}), summary(*model));
  expect_error([&] { summary(*model, {6, 3}); }, {"(None, 6, 2)", "(None, 6, 3)"});
}

TEST(Summary, SharedLayerIsListedOnceWithEveryConnection) {
  Sym x = Input({3}, "x"), y = Input({3}, "y");
  Layer encoder(std::make_shared<Linear>(3, 2), "encoder");
  GraphModel model({x, y}, {call(std::make_shared<Concatenate>(), {encoder(x), encoder(y)})});
  const std::string text = summary(model);
  expect_contains(text, {"encoder (Linear)", "x[0][0]", "y[0][0]", "encoder[0][0]", "encoder[1][0]",
                         "Total params: 8"});
  EXPECT_EQ(text.find("encoder (Linear)"), text.rfind("encoder (Linear)"));
}

TEST(Summary, SequentialTracesAZeroBatch) {
  auto net = std::make_shared<Sequential>(Sequential{std::make_shared<Linear>(4, 8, ActivationKind::Relu),
                                                     std::make_shared<Dropout>(0.5), std::make_shared<Linear>(8, 3)});
  net->train();
  const std::string text = summary(*net, {4});
  EXPECT_TRUE(net->is_training());
  EXPECT_EQ(text,
            "Model: \"Sequential\"\n"
            "_________________________________________\n"
            " Layer (type)   Output Shape   Param #\n"
            "=========================================\n"
            " 0 (Linear)     (None, 8)      40\n"
            " 1 (Dropout)    (None, 8)      0\n"
            " 2 (Linear)     (None, 3)      27\n"
            "=========================================\n"
            "Total params: 67\n"
            "Trainable params: 67\n"
            "Non-trainable params: 0\n"
            "_________________________________________\n");
  expect_error([&] { summary(*net); }, {"Sequential", "summary(model, per_sample_input_shape)"});
  expect_error([&] { summary(*net, {5}); }, {"summary: Sequential layer 0 (Linear)", "[1, 5]"});
}

TEST(Summary, SequenceShapesAndLargeCounts) {
  Sequential net{std::make_shared<Linear>(1000, 1000), std::make_shared<Flatten>()};
  const std::string text = summary(net, {5, 1000});
  expect_contains(text, {"0 (Linear)", "(None, 5, 1000)", "1,001,000", "1 (Flatten)", "(None, 5000)",
                         "Total params: 1,001,000"});
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(-1000), "-1,000");
  // A module that is neither a Sequential nor a Model is one row.
  Linear single(3, 2);
  expect_contains(summary(single, {3}), {"model (Linear)", "(None, 2)", "Total params: 8"});
}

}  // namespace
}  // namespace ouro::testing
