// What a careless or hostile user gives the `ouro` binary: out-of-range and malformed flag
// values and --set overrides, a bad OURO_NUM_THREADS, /dev/zero as a config, prompts longer
// than the model's context or not UTF-8, empty and non-finite data, empty checkpoint files, a
// checkpoint whose tokenizer does not fit its model, resuming past max_steps. Each gets exit
// code 2 (usage) or 1 (runtime) with a message naming the thing, or the behaviour that
// `ouro generate --help` defines.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli_runner.h"
#include "ouro/data/csv.h"
#include "ouro/io/safetensors.h"

namespace ouro::testing {
namespace {

// A two-step gpt (byte tokenizer, context 16) and char_lstm on a small corpus: enough for
// every generate check, in well under a second each.
void train_text_models(const CliSandbox& box) {
  std::string corpus;
  for (int i = 0; i < 30; ++i) corpus += "The quick brown fox jumps over the lazy dog.\n%\nA stitch in time.\n%\n";
  box.write("corpus.txt", corpus);
  box.write("gpt.toml",
            "[model]\ntype = \"gpt\"\ncontext = 16\nwidth = 16\nheads = 2\nnum_layers = 1\n"
            "[data]\npath = \"corpus.txt\"\ntokenizer = \"byte\"\nvalidation_fraction = 0.1\n"
            "[train]\nrun_dir = \"gpt\"\nmax_steps = 2\nbatch_size = 4\nprogress = \"silent\"\n");
  box.write("lm.toml",
            "[model]\ntype = \"char_lstm\"\nembedding_dim = 8\nhidden_size = 16\n"
            "[data]\npath = \"corpus.txt\"\nseq_len = 16\n"
            "[train]\nrun_dir = \"lm\"\nmax_steps = 2\nbatch_size = 4\nprogress = \"silent\"\n");
  const CliResult gpt = box.run("train gpt.toml");
  ASSERT_EQ(gpt.code, 0) << gpt.err;
  const CliResult lm = box.run("train lm.toml");
  ASSERT_EQ(lm.code, 0) << lm.err;
}

TEST(CliBadInput, GenerateOptionsOutOfRangeAreUsageErrors) {
  CliSandbox box;
  train_text_models(box);
  struct Case {
    const char* flags;
    const char* message;
  };
  for (const Case& c : {Case{"--max-tokens -1", "--max-tokens -1: expected an integer in [0, 1099511627776]"},
                        Case{"--max-tokens 99999999999999", "expected an integer in [0, 1099511627776]"},
                        Case{"--temperature -1", "--temperature -1: expected a number in [0, 1e+06]"},
                        Case{"--temperature nan", "--temperature nan: expected a number"},
                        Case{"--temperature inf", "expected a number in [0, 1e+06]"},
                        Case{"--top-p 0", "--top-p 0: expected a number in (0, 1]"},
                        Case{"--top-p 1.5", "expected a number in (0, 1]"},
                        Case{"--top-k -1", "--top-k -1: expected an integer"},
                        Case{"--top-k 2.5", "--top-k 2.5: expected an integer"},
                        Case{"--repetition-penalty 0", "expected a number in (0, 1e+06]"},
                        Case{"--seed -1", "--seed -1: expected an integer"},
                        Case{"--stop ''", "empty stop sequence"},
                        Case{"--prompt", "--prompt needs a value"},
                        Case{"--temprature 1", "unknown option --temprature (did you mean --temperature?)"}}) {
    const CliResult r = box.run(std::string("generate gpt ") + c.flags);
    EXPECT_EQ(r.code, 2) << c.flags << ": " << r.err;
    expect_contains(r.err, c.message);
    EXPECT_TRUE(r.out.empty()) << c.flags;
  }
  // The command's name is said once, not twice ("ouro generate: error: ouro generate: ...").
  const CliResult missing = box.run("generate");
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err.rfind("ouro generate: error: missing argument", 0), 0u) << missing.err;
}

TEST(CliBadInput, GenerateEdgeValuesHaveDefinedBehaviour) {
  CliSandbox box;
  train_text_models(box);
  for (const char* model : {"gpt", "lm"}) {
    SCOPED_TRACE(model);
    const std::string run = std::string("generate ") + model;
    // --max-tokens 0: the prompt alone.
    CliResult r = box.run(run + " --prompt 'The' --max-tokens 0");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "The\n");
    // --temperature 0 is greedy: the same text for every seed.
    r = box.run(run + " --prompt 'The' --max-tokens 12 --temperature 0 --seed 1");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, box.run(run + " --prompt 'The' --max-tokens 12 --temperature 0 --seed 99").out);
    // --top-k past the vocabulary keeps every token: the same draws as --top-k 0.
    r = box.run(run + " --prompt 'The' --max-tokens 12 --top-k 100000 --seed 5");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, box.run(run + " --prompt 'The' --max-tokens 12 --top-k 0 --seed 5").out);
    // A tiny temperature and top-p are valid, and near-greedy.
    r = box.run(run + " --prompt 'The' --max-tokens 12 --temperature 1e-300 --top-p 1e-300");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, box.run(run + " --prompt 'The' --max-tokens 12 --temperature 0").out);
    // A prompt far longer than the gpt's context of 16 (the model sees its end; the char_lstm
    // reads all of it), one with characters never seen in training, and invalid UTF-8 (the
    // byte model reads bytes; the char model reads U+FFFD, its unknown id): all echoed, all
    // continued.
    std::string long_prompt;
    for (int i = 0; i < 40; ++i) long_prompt += "The quick brown fox ";
    for (const std::string& prompt : {long_prompt, std::string("ZQ~~ \\303\\251\\360\\237\\246\\212"),
                                      std::string("\\377\\376\\200abc")}) {
      r = box.run(run + " --max-tokens 5 --prompt \"$(printf '" + prompt + "')\"");
      ASSERT_EQ(r.code, 0) << prompt << ": " << r.err;
      EXPECT_GT(r.out.size(), 5u) << prompt;
    }
    r = box.run(run + " --max-tokens 3 --prompt \"$(printf '\\377\\376')\"");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("\xff\xfe", 0), 0u) << "the prompt's bytes come back as given";
  }
}

TEST(CliBadInput, MalformedOverridesAndConfigsAreUsageErrors) {
  CliSandbox box;
  train_text_models(box);
  box.write("empty.toml", "");
  struct Case {
    const char* arguments;
    const char* message;
  };
  for (const Case& c : {Case{"train gpt.toml --set", "--set needs a value"},
                        Case{"train gpt.toml --set foo", "--set foo: expected key=value with a dotted key"},
                        Case{"train gpt.toml --set =3", "--set =3: expected key=value"},
                        Case{"train gpt.toml --set model.width=", "key 'model.width' = '' has the wrong type"},
                        Case{"train gpt.toml --set model.width=abc", "has the wrong type: expected an integer"},
                        Case{"train gpt.toml --set model.width=-16", "'model.width' = -16 is not allowed"},
                        Case{"train gpt.toml --set model.width=99999999999999999999", "has the wrong type"},
                        Case{"train gpt.toml --set model.nope=1", "unknown key 'model.nope'"},
                        Case{"train gpt.toml --set optim.lr=inf", "'optim.lr' = inf is not allowed: expected a finite"},
                        Case{"train gpt.toml --set optim.lr=nan", "'optim.lr' = nan is not allowed"},
                        Case{"train gpt.toml --set 'train.run_dir=\"\"'", "expected a non-empty string"},
                        // Strings the run's config.toml and checkpoint metadata could not hold
                        // again (an invalid byte used to fail only at the first checkpoint).
                        Case{"train gpt.toml --set \"$(printf 'train.run_dir=r\\377')\"",
                             "'train.run_dir': expected UTF-8 text without control characters"},
                        Case{"train gpt.toml --set \"$(printf 'train.run_dir=a\\nb')\"", "without control characters"},
                        Case{"train gpt.toml --set 'train.run_dir=\"r # note'", "opens a quote it does not close"},
                        Case{"train empty.toml", "missing required key 'model.type'"},
                        Case{"train .", "config '.': is a directory; expected a TOML file"},
                        Case{"train missing.toml", "config 'missing.toml': cannot open"},
                        Case{"train /dev/zero", "config '/dev/zero': larger than 16 MiB"},  // used to read forever
                        Case{"finetune /dev/zero", "config '/dev/zero': larger than 16 MiB"},
                        Case{"resume gpt --set model.width=8", "cannot change when resuming"},
                        Case{"resume gpt --set foo", "--set foo: expected key=value"},
                        Case{"resume gpt --set =5", "--set =5: expected key=value"},
                        Case{"resume gpt --set train.max_steps=-3", "'train.max_steps' = -3 is not allowed"},
                        Case{"tokenizer frob", "unknown action 'frob'"},
                        Case{"info extra", "unexpected argument 'extra'"}}) {
    const CliResult r = box.run(c.arguments);
    EXPECT_EQ(r.code, 2) << c.arguments << ": " << r.err;
    expect_contains(r.err, c.message);
  }
  // A bad thread count in the environment is refused by every command before it does
  // anything (train used to fail only after creating its run directory).
  const char* saved = std::getenv("OURO_NUM_THREADS");
  const std::string before = saved ? saved : "";
  for (const char* threads : {"abc", "0", "5000"}) {
    ::setenv("OURO_NUM_THREADS", threads, 1);
    for (const char* command : {"train gpt.toml --set train.run_dir=t", "generate gpt", "info"}) {
      const CliResult r = box.run(command);
      EXPECT_EQ(r.code, 2) << threads << " " << command << ": " << r.err;
      expect_contains(r.err, std::string("OURO_NUM_THREADS: expected an integer in [1, 4096], got '") + threads + "'");
    }
  }
  if (saved) ::setenv("OURO_NUM_THREADS", before.c_str(), 1);
  else ::unsetenv("OURO_NUM_THREADS");
  EXPECT_FALSE(std::filesystem::exists(box.path("t")));
}

TEST(CliBadInput, EmptyAndNonFiniteFilesAreRuntimeErrorsNamingTheFile) {
  CliSandbox box;
  train_text_models(box);
  box.write("empty.txt", "");
  box.write("short.txt", "ab");
  box.write("empty.safetensors", "");
  box.write("nan.csv", "t,v\n1,5\n2,nan\n3,4\n4,4\n5,4\n6,4\n7,4\n8,4\n9,4\n");
  box.write("iris_nan.csv", "150,4,a,b,c\n5.1,3.5,1.4,0.2,0\n4.9,inf,1.4,0.2,1\n");
  box.write("mlp.toml", "[model]\ntype = \"mlp\"\nhidden_size = 4\n[data]\npath = \"" + sklearn_data_file("iris.csv") +
                            "\"\n[train]\nrun_dir = \"mlp\"\nepochs = 1\nbatch_size = 50\nprogress = \"silent\"\n");
  const CliResult mlp = box.run("train mlp.toml");
  ASSERT_EQ(mlp.code, 0) << mlp.err;
  box.write("forecaster.toml",
            "[model]\ntype = \"forecaster\"\ncell = \"mlp\"\nhidden_size = 4\n"
            "[data]\npath = \"nan.csv\"\ncolumn = \"v\"\nwindow = 3\n"
            "[train]\nrun_dir = \"fc\"\nepochs = 1\nbatch_size = 2\nprogress = \"silent\"\n");
  struct Case {
    const char* arguments;
    const char* message;
  };
  for (const Case& c : {Case{"inspect empty.safetensors", "empty.safetensors: the file is 0 bytes long"},
                        Case{"generate empty.safetensors", "empty.safetensors: the file is 0 bytes long"},
                        Case{"eval empty.safetensors --data corpus.txt", "empty.safetensors"},
                        Case{"generate gpt --adapter empty.safetensors", "empty.safetensors"},
                        Case{"eval gpt --data empty.txt", "text corpus 'empty.txt': no entries"},
                        Case{"eval lm --data empty.txt", "text corpus 'empty.txt': no entries"},
                        Case{"eval lm --data short.txt", "eval data 'short.txt': 5 characters"},
                        Case{"train forecaster.toml", "nan.csv: value 2 of the column is nan"},
                        Case{"eval mlp --data iris_nan.csv", "iris_nan.csv: data row 2, feature 2 is inf"},
                        Case{"tokenizer train --vocab-size 300 empty.txt --out v", "'empty.txt': no entries"}}) {
    const CliResult r = box.run(c.arguments);
    EXPECT_EQ(r.code, 1) << c.arguments << ": " << r.err;
    expect_contains(r.err, c.message);
  }
  // Token ids outside the vocabulary or not ids at all, on stdin to decode.
  CliResult r = box.run("tokenizer train --vocab-size 260 corpus.txt --out v");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* ids : {"260", "-1", "1,2", "99999999999999999999999"}) {
    box.write("ids.txt", ids);
    r = box.run("tokenizer decode --encoder v/encoder.json --merges v/vocab.bpe < ids.txt");
    EXPECT_EQ(r.code, 1) << ids << ": " << r.err;
    expect_contains(r.err, ids);
  }
}

// A gpt checkpoint whose tokenizer metadata disagrees with the model's vocabulary (hand-edited
// or foreign) is refused on loading, not in the middle of generating.
TEST(CliBadInput, ATokenizerThatDoesNotFitTheModelIsRefused) {
  CliSandbox box;
  train_text_models(box);
  SafetensorsFile file = load_safetensors(box.path("gpt/checkpoints/step-00000002.safetensors"));
  file.metadata["tokenizer"] =
      R"({"type":"char","vocab":{"type":"char","unknown":0,"code_points":[65533,97,98],"counts":[0,1,1]}})";
  save_safetensors(box.path("three_ids.safetensors"), file.tensors, file.metadata);
  for (const char* command : {"generate three_ids.safetensors", "eval three_ids.safetensors --data corpus.txt"}) {
    const CliResult r = box.run(command);
    EXPECT_EQ(r.code, 1) << command << ": " << r.err;
    expect_contains(r.err, "the tokenizer has 3 ids but the model's vocabulary has 256");
  }
}

TEST(CliBadInput, ResumingAFinishedRunTrainsNoFurtherStep) {
  CliSandbox box;
  train_text_models(box);
  const std::string before = box.read("gpt/metrics.jsonl");
  // max_steps at or below the checkpoint's step 2: nothing to train, no new checkpoint.
  for (const char* max_steps : {"2", "1"}) {
    const CliResult r = box.run(std::string("resume gpt --set train.max_steps=") + max_steps);
    ASSERT_EQ(r.code, 0) << r.err;
    expect_contains(r.out, "resumed and trained: 2 steps");
    EXPECT_TRUE(std::filesystem::exists(box.path("gpt/checkpoints/step-00000002.safetensors")));
    EXPECT_FALSE(std::filesystem::exists(box.path("gpt/checkpoints/step-00000003.safetensors")));
    const std::string log = box.read("gpt/metrics.jsonl");
    EXPECT_EQ(log.find("\"step\":3"), std::string::npos) << log;
    // Nor a second validation record of step 2: the log is the finished run's, unchanged.
    EXPECT_EQ(log, before);
  }
  EXPECT_NE(before.find("\"step\":2"), std::string::npos) << before;
}

}  // namespace
}  // namespace ouro::testing
