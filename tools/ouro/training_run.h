// The training run behind `ouro train` and `ouro resume`: config -> task data and model,
// optimizer, schedule, callbacks (metrics log, checkpoints) -> Trainer::fit.
#pragma once
#include <string>

#include "ouro/io/config.h"

namespace ouro::cli {

// Trains `config` in config.train.run_dir, continuing from the checkpoint `resume_from` when
// it is not empty. Prints a summary; returns the exit code.
int run_training(const Config& config, const std::string& resume_from);

// Starts a new run (`ouro train`, `ouro finetune`): makes data.path absolute when it names a
// file, so the run does not depend on the directory it is resumed from (a corpus name such as
// "fortunes" stays as it is); refuses a run directory that already holds checkpoints; writes
// the config used into it; trains.
int start_new_run(Config config);

}  // namespace ouro::cli
