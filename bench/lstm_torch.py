#!/usr/bin/python3
"""PyTorch peer of bench/bench_lstm.cpp: the `lstm` workload (byte vocabulary 256, embedding 64,
one LSTM layer of 256 units, sequence 64, batch 32, Adam, cross-entropy over all positions)
built from nn.Embedding, nn.LSTM and nn.Linear.

  lstm_torch.py train THREADS SECONDS      training tokens/s
  lstm_torch.py generate THREADS SECONDS   single-token generation tokens/s (batch 1, sampling)

Prints one JSON line: {"mode": ..., "threads": t, "tokens_per_second": s,
"tokens_per_cpu_second": c} (c counts the CPU time of every thread of the process). Run with Debian's
python3-torch (/usr/bin/python3)."""
import json
import sys
import time

import torch

VOCAB, EMBED, HIDDEN, STEPS, BATCH = 256, 64, 256, 64, 32


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, EMBED)
        self.lstm = torch.nn.LSTM(EMBED, HIDDEN)  # time-major, as ouro's recurrent op
        self.out = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, tokens, state=None):
        h, state = self.lstm(self.embedding(tokens), state)
        return self.out(h), state


def timed(step, seconds, per_step):
    """Tokens per wall-clock second, and per CPU second of the whole process (all threads)."""
    for _ in range(5):
        step()
    steps, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return steps * per_step / wall, steps * per_step / cpu


def train(seconds):
    torch.manual_seed(7)
    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens = torch.randint(0, VOCAB, (STEPS + 1, BATCH))
    inputs, targets = tokens[:-1], tokens[1:]

    def step():
        optimizer.zero_grad()
        logits, _ = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        optimizer.step()

    return timed(step, seconds, STEPS * BATCH)


def generate(seconds):
    torch.manual_seed(7)
    model = Model()
    generator = torch.Generator().manual_seed(7)
    state = [None, torch.tensor([[ord("T")]])]

    @torch.no_grad()
    def step():
        logits, state[0] = model(state[1], state[0])
        probabilities = torch.softmax(logits.reshape(VOCAB), dim=0)
        state[1] = torch.multinomial(probabilities, 1, generator=generator).reshape(1, 1)

    return timed(step, seconds, 1)


if __name__ == "__main__":
    mode, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    rate, cpu_rate = train(seconds) if mode == "train" else generate(seconds)
    print(json.dumps({"mode": mode, "threads": threads, "tokens_per_second": rate,
                      "tokens_per_cpu_second": cpu_rate}))
