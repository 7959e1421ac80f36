#!/usr/bin/python3
"""PyTorch peer of bench/bench_gpt.cpp: the `gpt` workload (byte vocabulary 256, context 128,
width 128, 4 layers, 4 heads, batch 16, AdamW, cross-entropy over all positions), a GPT-2
decoder as ouro::Gpt builds it: token + position embeddings, pre-LayerNorm blocks of causal
self-attention (packed c_attn, c_proj) and a 4x GELU (tanh) MLP, final LayerNorm, head tied to
the token embedding, no dropout. torch 1.13 has no F.scaled_dot_product_attention, so the
attention is nanoGPT's explicit form (q k^T, masked_fill, softmax, @ v).

  gpt_torch.py train THREADS SECONDS           training tokens/s
  gpt_torch.py generate THREADS SECONDS        batch-1 generation tokens/s over a 128-token
                                               window, re-running the whole window per token
  gpt_torch.py generate-cached THREADS SECONDS the same with a KV cache (one position per token)
  gpt_torch.py sgemm THREADS SECONDS           torch.mm float32 1024^3 FLOP/s (for reference)

Prints one JSON line: {"mode": ..., "threads": t, "tokens_per_second": s,
"tokens_per_cpu_second": c} (c counts the CPU time of every thread of the process). Run with
Debian's python3-torch (/usr/bin/python3)."""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, CONTEXT, WIDTH, LAYERS, HEADS, BATCH = 256, 128, 128, 4, 4, 16


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(WIDTH)
        self.c_attn = torch.nn.Linear(WIDTH, 3 * WIDTH)
        self.attn_proj = torch.nn.Linear(WIDTH, WIDTH)
        self.ln_2 = torch.nn.LayerNorm(WIDTH)
        self.c_fc = torch.nn.Linear(WIDTH, 4 * WIDTH)
        self.mlp_proj = torch.nn.Linear(4 * WIDTH, WIDTH)
        self.register_buffer("mask", torch.ones(CONTEXT, CONTEXT, dtype=torch.bool).tril())

    def attention(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(WIDTH, dim=2)
        heads = lambda z: z.view(b, t, HEADS, c // HEADS).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if cache is not None:  # (keys, values) of the earlier positions, or None at the start
            if cache[0] is not None:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[0], cache[1] = k, v
        tk = k.shape[2]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))
        scores = scores.masked_fill(~self.mask[tk - t:tk, :tk], float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    def forward(self, x, cache=None):
        x = x + self.attention(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(VOCAB, WIDTH)
        self.wpe = torch.nn.Embedding(CONTEXT, WIDTH)
        self.h = torch.nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = torch.nn.LayerNorm(WIDTH)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * LAYERS) if name.endswith("proj.weight") else 0.02
                torch.nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                torch.nn.init.zeros_(p)

    def forward(self, tokens, caches=None, start=0):
        t = tokens.shape[1]
        x = self.wte(tokens) + self.wpe(torch.arange(start, start + t))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.ln_f(x) @ self.wte.weight.t()


def timed(step, seconds, per_step):
    """Tokens per wall-clock second, and per CPU second of the whole process (all threads)."""
    for _ in range(3):
        step()
    steps, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return steps * per_step / wall, steps * per_step / cpu


def train(seconds):
    torch.manual_seed(7)
    model = Gpt()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                                  lr=3e-4)
    tokens = torch.randint(0, VOCAB, (BATCH, CONTEXT + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        optimizer.step()

    return timed(step, seconds, BATCH * CONTEXT)


def generate(seconds, cached):
    """Greedy decoding at batch 1; a window of CONTEXT tokens, restarted when full."""
    torch.manual_seed(7)
    model = Gpt().eval()
    state = {"tokens": [ord("T")], "caches": None}

    @torch.no_grad()
    def step():
        tokens = state["tokens"]
        if len(tokens) >= CONTEXT:
            state["tokens"], state["caches"] = tokens[-1:], None
            tokens = state["tokens"]
        if cached:
            if state["caches"] is None:
                state["caches"] = [[None, None] for _ in range(LAYERS)]
                logits = model(torch.tensor([tokens]), state["caches"], 0)
            else:
                logits = model(torch.tensor([tokens[-1:]]), state["caches"], len(tokens) - 1)
        else:
            logits = model(torch.tensor([tokens]))
        tokens.append(int(logits[0, -1].argmax()))

    return timed(step, seconds, 1)


def sgemm(seconds):
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    return timed(lambda: torch.mm(a, b), seconds, 2 * n ** 3)


if __name__ == "__main__":
    mode, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    if mode == "train":
        rate, cpu_rate = train(seconds)
    elif mode in ("generate", "generate-cached"):
        rate, cpu_rate = generate(seconds, mode == "generate-cached")
    elif mode == "sgemm":
        rate, cpu_rate = sgemm(seconds)
    else:
        sys.exit("gpt_torch.py: mode must be train, generate, generate-cached or sgemm, got " + mode)
    print(json.dumps({"mode": mode, "threads": threads, "tokens_per_second": rate,
                      "tokens_per_cpu_second": cpu_rate}))
