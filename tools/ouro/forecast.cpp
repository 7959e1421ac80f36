// `ouro forecast CKPT --data CSV --horizon H`: a closed-loop forecast from a trained series
// model, printed or written as CSV.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "cli.h"
#include "ouro/io/atomic_file.h"
#include "task.h"

namespace ouro::cli {

namespace {
const char* kHelp =
    "usage: ouro forecast CKPT --data CSV --horizon H [--out FILE] [--origins-from T]\n"
    "\n"
    "Feeds the series in CSV (read as the run's [data] section says: data.column,\n"
    "data.time_column) to a forecaster trained by `ouro train` and predicts the next H values\n"
    "closed-loop, each prediction fed back as the next input. Writes CSV: step,forecast\n"
    "(with the time stamps when data.time_column is set).\n"
    "\n"
    "CKPT: a checkpoint file, or a run directory (its newest checkpoint).\n"
    "\n"
    "options:\n"
    "  --data CSV     the history to forecast from (required)\n"
    "  --horizon H    values to predict, >= 1 (required)\n"
    "  --out FILE     write the CSV there instead of stdout\n"
    "  --origins-from T\n"
    "                 evaluate instead of forecasting: from every origin, the last value before\n"
    "                 time T (the row number without data.time_column) and each one after it,\n"
    "                 forecast H steps closed-loop and write per horizon h = 1..H the RMSE:\n"
    "                 horizon,origins,rmse_model,rmse_persistence,rmse_ar, with AR(p) fitted by\n"
    "                 least squares (p by AIC, up to 20) on the values before T\n"
    "  --help         this text\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 usage error (also: not a forecaster)\n";
}  // namespace

int run_forecast(int argc, char** argv) {
  const Args args = parse_args("forecast", argc, argv, {{"data"}, {"horizon"}, {"out"}, {"origins-from"}}, 1, 1);
  if (args.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (!args.has("data")) throw UsageError("ouro forecast: --data CSV is required (see ouro forecast --help)");
  if (!args.has("horizon")) throw UsageError("ouro forecast: --horizon H is required (see ouro forecast --help)");
  ForecastRequest request;
  request.data_path = *args.text("data");
  request.horizon = args.integer_or("horizon", 1, 1, 1 << 24);
  if (args.has("origins-from")) request.origins_from = args.number_or("origins-from", 0, -1e300, 1e300);
  const std::string path = resolve_checkpoint(args.positional[0]);
  CheckpointConfig info = read_checkpoint_config(path);
  const Task& task = task_for(info.config.model.type);
  if (task.forecast == nullptr)
    throw UsageError("ouro forecast: '" + path + "' holds a model.type = \"" + info.config.model.type +
                     "\" model, which does not forecast series (forecaster does)");
  TaskModel model = load_trained_model(path, info);
  if (const auto out = args.text("out")) {
    // Collected in memory, then written atomically: FILE is never left half-written.
    char* buffer = nullptr;
    std::size_t size = 0;
    std::FILE* memory = ::open_memstream(&buffer, &size);
    OURO_CHECK(memory != nullptr, "ouro forecast: cannot allocate the output buffer");
    std::unique_ptr<char, void (*)(void*)> owned(nullptr, &std::free);
    try {
      task.forecast(info.config, model, request, memory);
    } catch (...) {
      std::fclose(memory);
      std::free(buffer);
      throw;
    }
    std::fclose(memory);
    owned.reset(buffer);
    write_file_atomically(*out, std::string_view(buffer, size));
    std::printf("forecast of %lld steps written to %s\n", static_cast<long long>(request.horizon), out->c_str());
  } else {
    task.forecast(info.config, model, request, stdout);
  }
  return kExitOk;
}

}  // namespace ouro::cli
