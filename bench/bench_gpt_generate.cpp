// GPT generation tokens/s with and without the KV cache, on the `gpt` workload's model
// (vocabulary 256, context 128, width 128, 4 layers, 4 heads) at batch 1: a one-token prompt
// and 127 generated tokens, so the last steps see the full context of 128. With the cache each
// token costs one single-position step over the cached keys/values; without it each token
// re-runs the model over the whole sequence so far. items = generated tokens, so
// `generate/gpt/cache` over `generate/gpt/nocache` is the cache's speed-up.
#include <benchmark/benchmark.h>

#include "ouro/generation/generate_gpt.h"
#include "ouro/kernels/cpu/parallel.h"

namespace {

void generate_gpt_case(benchmark::State& state, bool use_cache) {
  ouro::set_num_threads(static_cast<int>(state.range(0)));
  ouro::GptConfig config;  // the workload's defaults: V 256, context 128, width 128, 4 layers, 4 heads
  ouro::Gpt model(config);
  ouro::GptGenerateOptions options;
  options.max_new_tokens = config.context - 1;
  options.sampling.temperature = 1.0;
  options.use_cache = use_cache;
  std::int64_t generated = 0;
  for (auto _ : state) {
    const ouro::GptGeneration g = ouro::generate_gpt(model, {0}, options);
    generated += static_cast<std::int64_t>(g.tokens.size());
    benchmark::DoNotOptimize(g.tokens.data());
  }
  state.SetItemsProcessed(generated);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(generated), benchmark::Counter::kIsRate);
}

void BM_generate_gpt_cache(benchmark::State& state) { generate_gpt_case(state, true); }
void BM_generate_gpt_nocache(benchmark::State& state) { generate_gpt_case(state, false); }

}  // namespace

BENCHMARK(BM_generate_gpt_cache)->Name("generate/gpt/cache")->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_generate_gpt_nocache)->Name("generate/gpt/nocache")->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
