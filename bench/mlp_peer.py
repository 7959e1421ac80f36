#!/usr/bin/python3
"""PyTorch peer of bench/bench_mlp.cpp: the same 64-128-128-10 ReLU MLP, batch 32, SGD momentum
0.9, softmax cross-entropy, timed per training step. Prints one JSON line per thread count:
{"threads": t, "samples_per_second": s}. Run with Debian's python3-torch (/usr/bin/python3)."""
import json
import sys
import time

import torch


def samples_per_second(threads, seconds):
    torch.set_num_threads(threads)
    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                              torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(32, 64)
    y = torch.randint(0, 10, (32,))

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(50):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            step()
        steps += 20
    return steps * 32 / (time.perf_counter() - start)


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    for threads in (1, 2):
        print(json.dumps({"threads": threads, "samples_per_second": samples_per_second(threads, seconds)}))
