#include "ouro/nn/summary.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "ouro/autograd/grad_mode.h"
#include "ouro/core/error.h"
#include "ouro/nn/graph.h"
#include "ouro/nn/sequential.h"

namespace ouro {

namespace {

struct Row {
  std::string layer, shape, params;
  std::vector<std::string> connected;  // one line each; empty column for Sequential tables
};

std::string type_row_name(const std::string& name, const std::string& type) { return name + " (" + type + ")"; }

std::string render(const std::string& title, const std::vector<Row>& rows, bool with_connections, const Module& model) {
  const std::vector<std::string> headers{"Layer (type)", "Output Shape", "Param #", "Connected to"};
  std::size_t width[4] = {headers[0].size(), headers[1].size(), headers[2].size(), headers[3].size()};
  for (const Row& row : rows) {
    width[0] = std::max(width[0], row.layer.size());
    width[1] = std::max(width[1], row.shape.size());
    width[2] = std::max(width[2], row.params.size());
    for (const std::string& c : row.connected) width[3] = std::max(width[3], c.size());
  }
  const std::size_t columns = with_connections ? 4 : 3;
  std::size_t total_width = 1;
  for (std::size_t c = 0; c < columns; ++c) total_width += width[c] + 3;

  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text = " ";
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      text += cell;
      if (c + 1 < columns) text += std::string(width[c] + 3 - cell.size(), ' ');
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out << text << "\n";
  };
  out << "Model: \"" << title << "\"\n" << std::string(total_width, '_') << "\n";
  line(headers);
  out << std::string(total_width, '=') << "\n";
  for (const Row& row : rows) {
    const std::string first = row.connected.empty() ? (with_connections ? "-" : "") : row.connected.front();
    line({row.layer, row.shape, row.params, first});
    for (std::size_t i = 1; i < row.connected.size(); ++i) line({"", "", "", row.connected[i]});
  }
  out << std::string(total_width, '=') << "\n";
  const std::int64_t total = model.parameter_count(), trainable = model.parameter_count(true);
  out << "Total params: " << format_count(total) << "\n"
      << "Trainable params: " << format_count(trainable) << "\n"
      << "Non-trainable params: " << format_count(total - trainable) << "\n"
      << std::string(total_width, '_') << "\n";
  return out.str();
}

std::string graph_summary(const GraphModel& model) {
  const auto& steps = model.steps();
  // One row per Input and per distinct layer (Keras lists a shared layer once); the calls of a
  // shared layer add their connections under it.
  std::vector<Row> rows;
  std::map<const Module*, std::size_t> row_of;
  for (const GraphStep& step : steps) {
    std::vector<std::string> connected;
    for (std::size_t input : step.inputs)
      connected.push_back(steps[input].name + "[" + std::to_string(steps[input].call_index) + "][0]");
    if (step.layer == nullptr) {
      rows.push_back({type_row_name(step.name, "InputLayer"), symbolic_shape_str(step.shape), "0", {}});
      continue;
    }
    auto [it, first_call] = row_of.emplace(step.layer.get(), rows.size());
    if (first_call) {
      rows.push_back({type_row_name(step.name, step.layer->type_name()), symbolic_shape_str(step.shape),
                      format_count(step.layer->parameter_count()), connected});
    } else {
      Row& row = rows[it->second];
      if (row.shape != symbolic_shape_str(step.shape)) row.shape = "multiple";
      row.connected.insert(row.connected.end(), connected.begin(), connected.end());
    }
  }
  return render(model.type_name(), rows, true, model);
}

}  // namespace

std::string format_count(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string summary(Module& model) {
  if (auto* graph = dynamic_cast<GraphModel*>(&model)) return graph_summary(*graph);
  throw Error("summary: a " + model.type_name() +
              " has no recorded shapes; call summary(model, per_sample_input_shape)");
}

std::string summary(Module& model, const Shape& per_sample_input, DType dtype) {
  if (auto* graph = dynamic_cast<GraphModel*>(&model)) {
    std::string expected;
    for (std::size_t input : graph->input_steps())
      expected += (expected.empty() ? "" : ", ") + symbolic_shape_str(graph->steps()[input].shape);
    OURO_CHECK(graph->input_steps().size() == 1 && graph->steps()[graph->input_steps().front()].shape == per_sample_input,
               "summary: this Model takes inputs of shape ", expected, ", got the input shape ",
               symbolic_shape_str(per_sample_input), " (summary(model) uses the model's own)");
    return graph_summary(*graph);
  }

  Shape batch_shape{1};
  batch_shape.insert(batch_shape.end(), per_sample_input.begin(), per_sample_input.end());
  auto output_shape = [](const Tensor& y) {
    OURO_CHECK(y.dim() >= 1, "summary: a layer returned a tensor without a batch dimension: ", shape_str(y.shape()));
    return symbolic_shape_str(Shape(y.shape().begin() + 1, y.shape().end()));
  };

  // Traced like call(): eval mode and no gradients, so Dropout draws nothing and nothing is
  // recorded; each module's own flag is restored afterwards.
  std::vector<std::pair<Module*, bool>> modes{{&model, model.is_training()}};
  for (auto& [name, child] : model.named_modules()) modes.emplace_back(child.get(), child->is_training());
  std::vector<Row> rows;
  try {
    NoGradGuard no_grad;
    model.eval();
    Tensor h = Tensor::zeros(batch_shape, dtype);
    if (auto* sequential = dynamic_cast<Sequential*>(&model)) {
      const auto children = sequential->named_children();
      for (std::size_t i = 0; i < sequential->size(); ++i) {
        const ModulePtr& layer = (*sequential)[i];
        try {
          h = layer->forward(h);
        } catch (const Error& e) {
          throw Error("summary: Sequential layer " + std::to_string(i) + " (" + layer->type_name() + "): " + e.what());
        }
        rows.push_back({type_row_name(children.at(i).first, layer->type_name()), output_shape(h),
                        format_count(layer->parameter_count()), {}});
      }
    } else {
      h = model.forward(h);
      rows.push_back({type_row_name("model", model.type_name()), output_shape(h),
                      format_count(model.parameter_count()), {}});
    }
  } catch (...) {
    for (auto& [module, training] : modes) module->train(training);
    throw;
  }
  for (auto& [module, training] : modes) module->train(training);
  return render(model.type_name(), rows, false, model);
}

}  // namespace ouro
