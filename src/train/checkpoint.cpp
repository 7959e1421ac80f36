#include "ouro/train/checkpoint.h"

#include <bit>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ouro/core/error.h"
#include "ouro/io/safetensors.h"

namespace ouro {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "ouro.training_checkpoint";
const char* const kReservedKeys[] = {"format", "format_version", "ouro_version", "model_config", "optimizer",
                                     "scheduler", "progress", "rng"};

// The model itself (path "") and every module below it, by dotted path.
template <typename M>  // Module or const Module
std::vector<std::pair<std::string, M*>> modules_with_paths(M& model) {
  std::vector<std::pair<std::string, M*>> all{{"", &model}};
  for (const auto& [path, module] : model.named_modules()) all.emplace_back(path, module.get());
  return all;
}

std::string carried_tensor_name(const std::string& module_path, const std::string& key) {
  return module_path.empty() ? "carried." + key : "carried." + module_path + "." + key;
}

TrainingProgress progress_from_json(const std::string& text) {
  const json progress = json::parse(text);
  TrainingProgress p;
  p.epoch = progress.at("epoch").get<std::int64_t>();
  p.global_step = progress.at("global_step").get<std::int64_t>();
  p.loader.epoch = progress.at("loader_epoch").get<std::int64_t>();
  p.loader.batch = progress.at("loader_batch").get<std::int64_t>();
  return p;
}

json config_tree(const Module& module) {
  json node;
  node["type"] = module.type_name();
  const std::string config = module.config_json();
  // A module's config is JSON by contract; keep it as text if some module breaks that.
  json parsed = json::parse(config, nullptr, /*allow_exceptions=*/false);
  node["config"] = parsed.is_discarded() ? json(config) : parsed;
  json children = json::object();
  for (const auto& [name, child] : module.named_children()) children[name] = config_tree(*child);
  node["children"] = children;
  return node;
}

json generator_json(const Generator& gen) {
  const Generator::State s = gen.state();
  return json{{"s", {s.s[0], s.s[1], s.s[2], s.s[3]}},
              {"spare_bits", std::bit_cast<std::uint64_t>(s.spare)},
              {"has_spare", s.has_spare}};
}

Generator::State generator_state(const json& j) {
  Generator::State s{};
  const auto& words = j.at("s");
  if (!words.is_array() || words.size() != 4) throw Error("rng: \"s\" must hold 4 words");
  for (std::size_t i = 0; i < 4; ++i) s.s[i] = words[i].get<std::uint64_t>();
  s.spare = std::bit_cast<double>(j.at("spare_bits").get<std::uint64_t>());
  s.has_spare = j.at("has_spare").get<bool>();
  return s;
}

json string_map_json(const std::map<std::string, std::string>& values) {
  json out = json::object();
  for (const auto& [key, value] : values) out[key] = value;
  return out;
}

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) out[key] = value.get<std::string>();
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

}  // namespace

std::string model_config_json(const Module& model) { return config_tree(model).dump(); }

TrainingProgress read_checkpoint_progress(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  const auto it = header.metadata.find("progress");
  OURO_CHECK(it != header.metadata.end(), "read_checkpoint_progress '", path,
             "': no \"progress\" metadata entry: not an ouro training checkpoint");
  try {
    return progress_from_json(it->second);
  } catch (const json::exception& e) {
    throw Error("read_checkpoint_progress '" + path + "': malformed \"progress\" entry: " + e.what());
  }
}

void save_checkpoint(const std::string& path, const Module& model, const CheckpointParts& parts) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, tensor] : model.state_dict()) tensors["model." + name] = tensor;
  for (const auto& [path, module] : modules_with_paths(model))
    for (const auto& [key, tensor] : module->carried_tensors()) {
      OURO_CHECK(key.find('.') == std::string::npos, "save_checkpoint '", path, "': carried tensor key \"", key,
                 "\" of ", module->type_name(), " contains a dot");
      tensors[carried_tensor_name(path, key)] = tensor;
    }
  std::map<std::string, std::string> metadata;
  metadata["format"] = kFormat;
  metadata["format_version"] = std::to_string(kCheckpointFormatVersion);
  metadata["ouro_version"] = kOuroVersion;
  metadata["model_config"] = model_config_json(model);
  if (parts.optimizer) {
    for (auto& [key, tensor] : parts.optimizer->state_tensors()) tensors["optimizer." + key] = std::move(tensor);
    metadata["optimizer"] = string_map_json(parts.optimizer->state_scalars()).dump();
  }
  if (parts.scheduler) metadata["scheduler"] = string_map_json(parts.scheduler->state()).dump();
  const TrainingProgress& p = parts.progress;
  metadata["progress"] = json{{"epoch", p.epoch},
                              {"global_step", p.global_step},
                              {"loader_epoch", p.loader.epoch},
                              {"loader_batch", p.loader.batch}}
                             .dump();
  json rng = json::object();
  rng["default"] = generator_json(default_generator());
  for (const auto& [name, gen] : parts.generators) {
    OURO_CHECK(gen != nullptr && name != "default", "save_checkpoint '", path, "': generator '", name,
               "' is null or uses the reserved name \"default\"");
    rng[name] = generator_json(*gen);
  }
  metadata["rng"] = rng.dump();
  for (const auto& [key, value] : parts.extra) {
    for (const char* reserved : kReservedKeys)
      OURO_CHECK(key != reserved, "save_checkpoint '", path, "': extra metadata key \"", key, "\" is reserved");
    metadata[key] = value;
  }
  save_safetensors(path, tensors, metadata);
}

CheckpointInfo load_checkpoint(const std::string& path, Module& model, const CheckpointTargets& targets) {
  const std::string who = "load_checkpoint '" + path + "': ";
  SafetensorsFile file;
  try {
    file = load_safetensors(path);
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  auto meta = [&](const char* key) -> const std::string& {
    const auto it = file.metadata.find(key);
    OURO_CHECK(it != file.metadata.end(), who, "no \"", key, "\" metadata entry: not an ouro training checkpoint");
    return it->second;
  };
  OURO_CHECK(meta("format") == kFormat, who, "format is \"", meta("format"), "\", expected \"", kFormat, "\"");
  const std::string& version = meta("format_version");
  OURO_CHECK(version == std::to_string(kCheckpointFormatVersion), who, "format version ", version,
             " is not supported (this build reads version ", kCheckpointFormatVersion, ", ouro ", kOuroVersion,
             "; the file was written by ouro ",
             file.metadata.count("ouro_version") ? file.metadata.at("ouro_version") : std::string("?"), ")");

  CheckpointInfo info;
  try {
    // ---- check everything ----
    StateDict model_state;
    std::map<std::string, Tensor> optimizer_tensors;
    // carried.<module path>.<key>, grouped by module path ("" is the model itself).
    std::map<std::string, StateDict> carried;
    std::map<std::string, const Module*> module_at;
    for (const auto& [module_path, module] : modules_with_paths(model)) module_at[module_path] = module;
    for (auto& [name, tensor] : file.tensors) {
      if (name.rfind("model.", 0) == 0) model_state[name.substr(6)] = tensor;
      else if (name.rfind("optimizer.", 0) == 0) optimizer_tensors[name.substr(10)] = tensor;
      else if (name.rfind("carried.", 0) == 0) {
        const std::string rest = name.substr(8);
        const std::size_t dot = rest.rfind('.');
        const std::string module_path = dot == std::string::npos ? "" : rest.substr(0, dot);
        OURO_CHECK(module_at.count(module_path), "unexpected tensor \"", name, "\": this ", model.type_name(),
                   " has no module \"", module_path, "\" to carry it");
        carried[module_path][dot == std::string::npos ? rest : rest.substr(dot + 1)] = tensor;
      } else
        throw Error("unexpected tensor \"" + name + "\" (neither model.*, optimizer.* nor carried.*)");
    }
    const StateDict own = model.state_dict();
    std::vector<std::string> missing, unexpected, mismatched;
    for (const auto& [name, tensor] : own) {
      const auto it = model_state.find(name);
      if (it == model_state.end()) missing.push_back(name);
      else if (it->second.shape() != tensor.shape())
        mismatched.push_back(name + " (checkpoint " + shape_str(it->second.shape()) + ", model " +
                             shape_str(tensor.shape()) + ")");
    }
    for (const auto& [name, tensor] : model_state)
      if (!own.count(name)) unexpected.push_back(name);
    if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
      std::ostringstream message;
      message << "the checkpoint is of a different architecture than this " << model.type_name() << ":";
      if (!missing.empty()) message << " missing tensors: " << join(missing) << ";";
      if (!unexpected.empty()) message << " unexpected tensors: " << join(unexpected) << ";";
      if (!mismatched.empty()) message << " mis-shaped tensors: " << join(mismatched) << ";";
      throw Error(message.str());
    }

    std::map<std::string, std::string> optimizer_scalars, scheduler_state;
    if (targets.optimizer) {
      OURO_CHECK(file.metadata.count("optimizer"), "the checkpoint holds no optimizer state, this run has a ",
                 targets.optimizer->name(), " optimizer");
      optimizer_scalars = string_map(json::parse(file.metadata.at("optimizer")));
      const std::string kind = optimizer_scalars.count("optimizer") ? optimizer_scalars.at("optimizer") : "?";
      OURO_CHECK(kind == targets.optimizer->name(), "wrong optimizer kind: the checkpoint holds ", kind,
                 " state, this run uses ", targets.optimizer->name());
    }
    if (targets.scheduler) {
      OURO_CHECK(file.metadata.count("scheduler"), "the checkpoint holds no scheduler state, this run has a ",
                 targets.scheduler->name(), " scheduler");
      scheduler_state = string_map(json::parse(file.metadata.at("scheduler")));
      const std::string kind = scheduler_state.count("scheduler") ? scheduler_state.at("scheduler") : "?";
      OURO_CHECK(kind == targets.scheduler->name(), "wrong scheduler kind: the checkpoint holds ", kind,
                 " state, this run uses ", targets.scheduler->name());
    }
    const json rng = json::parse(meta("rng"));
    std::map<std::string, Generator::State> generators;
    if (targets.restore_default_generator) generators["default"] = generator_state(rng.at("default"));
    for (const auto& [name, gen] : targets.generators) {
      OURO_CHECK(gen != nullptr, "generator '", name, "' is null");
      OURO_CHECK(rng.contains(name), "the checkpoint holds no state for generator '", name, "'");
      generators[name] = generator_state(rng.at(name));
    }
    info.progress = progress_from_json(meta("progress"));

    // ---- restore: the optimizer and scheduler check their own state before changing it, so
    // they go first; the model's tensors were checked above ----
    if (targets.optimizer) targets.optimizer->load_state(optimizer_tensors, optimizer_scalars);
    if (targets.scheduler) targets.scheduler->load_state(scheduler_state);
    model.load_state_dict(model_state, /*strict=*/true);
    // Every module's carry is set, an empty one included: what the checkpoint did not carry
    // starts from zeros, as it did when the checkpoint was written.
    for (const auto& [module_path, module] : modules_with_paths(model))
      module->load_carried_tensors(carried[module_path]);
    for (const auto& [name, state] : generators) {
      if (name == "default") default_generator().set_state(state);
      else targets.generators.at(name)->set_state(state);
    }
  } catch (const json::exception& e) {
    throw Error(who + "malformed metadata: " + e.what());
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  info.metadata = std::move(file.metadata);
  return info;
}

}  // namespace ouro
