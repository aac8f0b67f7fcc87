"""Synthetic decays for bench/fit_batch.sh: N curves of 30 points, y = a exp(-k t) + noise
(seeded), as one CSV table (curve, t, y) and one file per curve for the first P curves.
   usage: fit_batch_data.py N P OUTDIR"""
import os
import sys

import numpy as np

n, per_file, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(12)
a, k = rng.uniform(1, 5, n), rng.uniform(0.2, 2, n)
t = np.arange(30) * 0.1
with open(os.path.join(out, "curves.csv"), "w") as table:
    table.write("curve,t,y\n")
    for c in range(n):
        y = a[c] * np.exp(-k[c] * t) + rng.normal(0, 0.02, t.size)
        rows = "".join(f"{t[i]:.1f},{y[i]:.6f}\n" for i in range(t.size))
        table.write("".join(f"{c}," + r for r in rows.splitlines(True)))
        if c < per_file:
            with open(os.path.join(out, f"curve{c}.csv"), "w") as one:
                one.write("t,y\n" + rows)
