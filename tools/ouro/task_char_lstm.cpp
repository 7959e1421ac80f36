// model.type = "char_lstm": a character-level LSTM language model over a text corpus.
// Waits for the text library API (corpus reader, char vocabulary, char LM module).
#include "cli.h"
#include "task.h"

namespace ouro::cli {
namespace {

[[noreturn]] void unavailable() {
  throw Error("model.type = \"char_lstm\" is not available in this build yet (the character LM library API has not landed)");
}
TaskModel prepare_training(const Config&, TaskData&) { unavailable(); }
TaskModel rebuild(const Config&, const std::map<std::string, std::string>&) { unavailable(); }
Dataset evaluation_data(const Config&, const TaskModel&, const std::string&) { unavailable(); }

}  // namespace

const Task& char_lstm_task() {
  static const Task task{.prepare_training = prepare_training, .rebuild = rebuild, .evaluation_data = evaluation_data};
  return task;
}

}  // namespace ouro::cli
