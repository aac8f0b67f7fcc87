"""Tutorial 1 (docs/tutorials.md), variant A, in PyTorch with autograd, float64: the
peer. Same output format as quadratic_nabla.c (median ns per step over repeats)."""
import sys
import time

import torch

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
xs = torch.arange(100, dtype=torch.float64) / 100
ys = 2 * xs**2 + 3 * xs + 4
times = []
for _ in range(repeats):
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    start = time.perf_counter()
    for epoch in range(500):
        for i in range(100):
            x, y = xs[i], ys[i]
            loss = (w[0] * x * x + w[1] * x + w[2] - y) ** 2
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
            w.grad.zero_()
    times.append((time.perf_counter() - start) / 50000 * 1e9)
times.sort()
w = w.detach().tolist()
print(f"pytorch {times[len(times) // 2]:.2f} ns/step  w = {w[0]:.9f} {w[1]:.9f} {w[2]:.9f}")
