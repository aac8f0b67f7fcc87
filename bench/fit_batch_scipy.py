"""The SciPy side of bench/fit_batch.sh: read curves.csv, fit y = a exp(-k t) to each curve
with scipy.optimize.curve_fit in one loop (start a = k = 1, as nabla's --init), and print
one CSV row per curve (curve, a, k, se_a, se_k, as nabla does), then on standard error
the time of the work and of the loop alone, in seconds.
   usage: fit_batch_scipy.py curves.csv [tight]   (tight: ftol = xtol = 1e-15, nabla's)"""
import sys
import time

import numpy as np
from scipy.optimize import curve_fit

start = time.perf_counter()
data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
options = {"ftol": 1e-15, "xtol": 1e-15} if len(sys.argv) > 2 else {}
curve, t, y = data[:, 0], data[:, 1], data[:, 2]
bounds = np.flatnonzero(np.diff(curve)) + 1
loop = time.perf_counter()
rows = []
for ts, ys in zip(np.split(t, bounds), np.split(y, bounds)):
    p, cov = curve_fit(lambda t, a, k: a * np.exp(-k * t), ts, ys, p0=[1.0, 1.0], **options)
    rows.append((int(curve[len(rows) and bounds[len(rows) - 1]]), p[0], p[1], *np.sqrt(np.diag(cov))))
sys.stdout.write("curve,a,k,se_a,se_k\n" + "".join("%d,%.17g,%.17g,%.17g,%.17g\n" % r for r in rows))
end = time.perf_counter()
print(f"{end - start:.4f} {end - loop:.4f} {len(rows)}", file=sys.stderr)
