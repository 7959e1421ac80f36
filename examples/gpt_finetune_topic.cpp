// Pretrain a small GPT on the English fortunes with the topic file `songs-poems` held out,
// then fine-tune it on songs-poems with LoRA (under 5% of the parameters trainable) and, for
// comparison, in full; report the validation loss on songs-poems and on the general fortunes
// before and after (what fine-tuning forgot), with a sample before and after.
//
// Byte-level tokens (vocabulary 256: every fortune is representable, and the losses read
// directly as bits per byte). Both corpora are split by whole entries with a seeded
// permutation, as the CLI's text tasks split them. It prints whether the bar is met
// (LoRA with < 5% trainable and full fine-tuning each cut the songs-poems validation loss by
// >= 15% relative to the pretrained model); at the CI size it is NOT met (about -2% / -4%):
// the pretrained model is too weak for the held-out topic to differ much from the rest.
//
//   example_gpt_finetune_songs                  # the CI size (ctest Example.gpt_finetune_songs)
//   example_gpt_finetune_songs --pretrain-steps 3000 --finetune-steps 600 --width 128 --layers 4
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ouro/autograd/grad_mode.h"
#include "ouro/data/text_corpus.h"
#include "ouro/generation/sampling.h"
#include "ouro/nn/gpt.h"
#include "ouro/nn/lora.h"
#include "ouro/ops/loss.h"
#include "ouro/ops/shape_ops.h"
#include "ouro/optim/adam.h"
#include "ouro/optim/clip.h"
#include "ouro/optim/schedule.h"

using namespace ouro;

namespace {

struct Settings {
  std::int64_t pretrain_steps = 300, finetune_steps = 150, batch = 16, context = 64;
  std::int64_t width = 64, layers = 2, heads = 4, lora_rank = 2;
  double pretrain_lr = 3e-3, lora_lr = 3e-3, full_lr = 1e-3, lora_alpha = 4;
  std::int64_t eval_windows = 96;  // validation windows scored (fixed, evenly spaced)
};

std::vector<std::int64_t> bytes_of(const std::string& text) {
  std::vector<std::int64_t> ids(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

// A batch of `batch` random windows (inputs, next-byte targets) of `ids`.
std::pair<Tensor, Tensor> random_batch(const std::vector<std::int64_t>& ids, const Settings& s, Generator& gen) {
  std::vector<std::int64_t> x, y;
  const auto span = static_cast<std::int64_t>(ids.size()) - s.context - 1;
  for (std::int64_t b = 0; b < s.batch; ++b) {
    const auto start = static_cast<std::int64_t>(gen.uniform() * static_cast<double>(span));
    for (std::int64_t t = 0; t < s.context; ++t) {
      x.push_back(ids[static_cast<std::size_t>(start + t)]);
      y.push_back(ids[static_cast<std::size_t>(start + t + 1)]);
    }
  }
  return {Tensor::from_indices(x, {s.batch, s.context}), Tensor::from_indices(y, {s.batch, s.context})};
}

// Mean next-byte cross-entropy in bits over fixed, evenly spaced windows (the same ones every time).
double validation_bits(Gpt& model, const std::vector<std::int64_t>& ids, const Settings& s) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto span = static_cast<std::int64_t>(ids.size()) - s.context - 1;
  double nats = 0;
  std::int64_t count = 0;
  for (std::int64_t w = 0; w < s.eval_windows; w += s.batch) {
    std::vector<std::int64_t> x, y;
    const std::int64_t rows = std::min(s.batch, s.eval_windows - w);
    for (std::int64_t b = 0; b < rows; ++b) {
      const std::int64_t start = (w + b) * span / s.eval_windows;
      for (std::int64_t t = 0; t < s.context; ++t) {
        x.push_back(ids[static_cast<std::size_t>(start + t)]);
        y.push_back(ids[static_cast<std::size_t>(start + t + 1)]);
      }
    }
    const Tensor logits = model(Tensor::from_indices(x, {rows, s.context}));
    nats += cross_entropy(reshape(logits, {rows * s.context, 256}), Tensor::from_indices(y, {rows * s.context}),
                          Reduction::Sum).item();
    count += rows * s.context;
  }
  model.train(was_training);
  return nats / static_cast<double>(count) / std::log(2.0);
}

void train(Gpt& model, const std::vector<std::int64_t>& ids, std::int64_t steps, double lr, const Settings& s,
           std::uint64_t seed, const char* what) {
  AdamW optimizer(model.parameters(/*trainable_only=*/true), AdamWOptions{.lr = lr, .weight_decay = 0.0});
  WarmupCosineSchedule schedule(optimizer, WarmupCosineOptions{.warmup_steps = std::min<std::int64_t>(20, steps),
                                                                .total_steps = steps, .min_lr = lr / 10});
  Generator gen(seed);
  model.train();
  const auto begin = std::chrono::steady_clock::now();
  double recent = 0;
  for (std::int64_t step = 1; step <= steps; ++step) {
    const auto [x, y] = random_batch(ids, s, gen);
    optimizer.zero_grad();
    const Tensor loss = cross_entropy(reshape(model(x), {s.batch * s.context, 256}), reshape(y, {s.batch * s.context}));
    loss.backward();
    clip_grad_norm(optimizer.groups().front().params, 1.0);
    optimizer.step();
    schedule.step();
    recent += loss.item();
    if (step % std::max<std::int64_t>(1, steps / 5) == 0 || step == steps) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - begin;
      std::printf("  %s step %4lld/%lld  train loss %.3f bits/byte  (%.0f s)\n", what, static_cast<long long>(step),
                  static_cast<long long>(steps), recent / std::max<std::int64_t>(1, steps / 5) / std::log(2.0),
                  elapsed.count());
      std::fflush(stdout);
      recent = 0;
    }
  }
}

std::string sample(Gpt& model, const std::string& prompt, std::int64_t n, std::uint64_t seed) {
  NoGradGuard no_grad;
  model.eval();
  Generator gen(seed);
  std::vector<std::int64_t> ids = bytes_of(prompt);
  KvCache cache;
  Tensor logits = model.forward_cached(Tensor::from_indices(ids, {1, static_cast<std::int64_t>(ids.size())}), cache);
  std::string out = prompt;
  for (std::int64_t i = 0; i < n && cache.length < model.config().context; ++i) {
    const Tensor flat = logits.copy();  // contiguous [1, T, 256]
    const float* last = flat.data<float>() + (flat.size(1) - 1) * 256;
    const std::int64_t next = sample_token(last, 256, SamplingOptions{.temperature = 0.8, .top_k = 20}, gen);
    out += static_cast<char>(next);
    logits = model.forward_cached(Tensor::from_indices({next}, {1, 1}), cache);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const double v = std::strtod(argv[i + 1], nullptr);
    if (flag == "--pretrain-steps") s.pretrain_steps = static_cast<std::int64_t>(v);
    else if (flag == "--finetune-steps") s.finetune_steps = static_cast<std::int64_t>(v);
    else if (flag == "--width") s.width = static_cast<std::int64_t>(v);
    else if (flag == "--layers") s.layers = static_cast<std::int64_t>(v);
    else if (flag == "--context") s.context = static_cast<std::int64_t>(v);
    else if (flag == "--lora-rank") s.lora_rank = static_cast<std::int64_t>(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  const TextCorpus general = load_text_corpus("fortunes", kFortuneDirectory, {}, {"songs-poems"});
  const TextCorpus songs = load_text_corpus(std::string(kFortuneDirectory) + "/songs-poems");
  const TextSplit general_split = split_entries(general.entries, 0.05, 0);
  const TextSplit songs_split = split_entries(songs.entries, 0.1, 0);
  const auto general_train = bytes_of(join_entries(general_split.train));
  const auto general_val = bytes_of(join_entries(general_split.validation));
  const auto songs_train = bytes_of(join_entries(songs_split.train));
  const auto songs_val = bytes_of(join_entries(songs_split.validation));
  std::printf("data: English fortunes without songs-poems: %zu training bytes, %zu validation bytes\n",
              general_train.size(), general_val.size());
  std::printf("      songs-poems (never seen in pretraining): %zu training bytes, %zu validation bytes\n\n",
              songs_train.size(), songs_val.size());

  const GptConfig config{.vocab_size = 256, .context = s.context, .width = s.width, .layers = s.layers,
                         .heads = s.heads, .seed = 1};
  auto base = std::make_shared<Gpt>(config);
  std::printf("1. pretrain a GPT (%lld layers, width %lld, context %lld bytes; %lld parameters) for %lld steps\n",
              static_cast<long long>(s.layers), static_cast<long long>(s.width), static_cast<long long>(s.context),
              static_cast<long long>(base->parameter_count()), static_cast<long long>(s.pretrain_steps));
  train(*base, general_train, s.pretrain_steps, s.pretrain_lr, s, 11, "pretrain");
  const double base_songs = validation_bits(*base, songs_val, s), base_general = validation_bits(*base, general_val, s);
  std::printf("   validation: songs-poems %.3f bits/byte, general %.3f bits/byte\n", base_songs, base_general);
  std::printf("   sample: %s\n\n", sample(*base, "Oh, the ", 120, 5).c_str());
  const StateDict pretrained = merged_state_dict(*base);

  std::printf("2. LoRA fine-tuning on songs-poems (r=%lld, alpha=%g on c_attn, c_proj, c_fc) for %lld steps\n",
              static_cast<long long>(s.lora_rank), s.lora_alpha, static_cast<long long>(s.finetune_steps));
  auto lora = std::make_shared<Gpt>(config);
  lora->load_state_dict(pretrained);
  apply_lora(*lora, LoraOptions{.rank = s.lora_rank, .alpha = s.lora_alpha}, {"c_attn", "c_proj", "c_fc"});
  const ParameterCounts counts = count_parameters(*lora);
  std::printf("   %s\n", describe_parameter_counts(counts).c_str());
  train(*lora, songs_train, s.finetune_steps, s.lora_lr, s, 12, "lora");
  const double lora_songs = validation_bits(*lora, songs_val, s), lora_general = validation_bits(*lora, general_val, s);
  std::printf("   sample: %s\n\n", sample(*lora, "Oh, the ", 120, 5).c_str());

  std::printf("3. full fine-tuning on songs-poems, for comparison, %lld steps\n", static_cast<long long>(s.finetune_steps));
  auto full = std::make_shared<Gpt>(config);
  full->load_state_dict(pretrained);
  train(*full, songs_train, s.finetune_steps, s.full_lr, s, 12, "full");
  const double full_songs = validation_bits(*full, songs_val, s), full_general = validation_bits(*full, general_val, s);

  auto change = [](double before, double after) { return 100.0 * (after - before) / before; };
  std::printf("\nvalidation loss, bits per byte     songs-poems           general fortunes (forgetting)\n");
  std::printf("  pretrained                        %.3f                 %.3f\n", base_songs, base_general);
  std::printf("  LoRA (%5.2f%% trainable)          %.3f (%+.1f%%)        %.3f (%+.1f%%)\n",
              100 * counts.trainable_fraction(), lora_songs, change(base_songs, lora_songs), lora_general,
              change(base_general, lora_general));
  std::printf("  full fine-tuning                  %.3f (%+.1f%%)        %.3f (%+.1f%%)\n", full_songs,
              change(base_songs, full_songs), full_general, change(base_general, full_general));
  const bool lora_ok = counts.trainable_fraction() < 0.05 && change(base_songs, lora_songs) <= -15.0;
  const bool full_ok = change(base_songs, full_songs) <= -15.0;
  std::printf("\nbar: LoRA with < 5%% trainable cuts songs-poems loss by >= 15%%: %s; full fine-tuning: %s\n",
              lora_ok ? "met" : "MISSED", full_ok ? "met" : "MISSED");
  return 0;
}
