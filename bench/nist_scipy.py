"""The 27 nonlinear NIST StRD problems from both starts with
scipy.optimize.least_squares(method='lm') at its defaults, as a user would call it
(finite-difference Jacobian, default tolerances): the peer of nist_nabla.c.

The model, the starts, the certified values and the data are read from each file. Prints
one line per fit, "scipy NAME START MEDIAN_US LRE" (the median over repeats of the
least_squares call, in CPU time of the thread as on nabla's side), then
"scipy-total SUM_OF_MEDIANS_MS".
usage: nist_scipy.py DIR [repeats]"""
import glob
import math
import os
import re
import sys
import time

import numpy as np
from scipy.optimize import least_squares


def read_problem(path):
    lines = open(path).read().split("\n")
    head = "\n".join(lines[:12])
    s0, s1 = map(int, re.search(r"Starting [Vv]alues\s+\(lines\s+(\d+)\s+to\s+(\d+)", head).groups())
    d0, d1 = map(int, re.search(r"Data\s+\(lines\s+(\d+)\s+to\s+(\d+)", head).groups())
    names, starts, certified = [], ([], []), []
    for i in range(s0, s1 + 1):
        fields = lines[i - 1].split()
        names.append(fields[0])
        starts[0].append(float(fields[2]))
        starts[1].append(float(fields[3]))
        certified.append(float(fields[4]))
    model_at = next(i for i, line in enumerate(lines) if line.startswith("Model:"))
    formula = ""
    for i in range(model_at, len(lines)):
        text = lines[i].strip()
        if "=" in text and not text.startswith("pi"):
            k = i
            while lines[k].strip():
                formula += " " + lines[k].strip()
                k += 1
            break
    formula = re.sub(r"\+\s*e\s*$", "", formula.strip()).replace("[", "(").replace("]", ")")
    lhs, rhs = (side.strip() for side in formula.split("=", 1))
    columns = lines[d0 - 2].split()[1:]
    data = np.array([[float(v) for v in lines[i - 1].split()] for i in range(d0, d1 + 1)])
    return names, starts, certified, lhs, rhs, columns, data


def compile_side(text, names, columns):
    """A numpy function f(b, X) of the model text."""
    code = text.replace("arctan", "np.arctan").replace("exp", "np.exp").replace("log", "np.log")
    code = code.replace("cos", "np.cos").replace("sin", "np.sin").replace("pi", "np.pi")
    for j, name in enumerate(names):
        code = re.sub(r"\b%s\b" % name, "b[%d]" % j, code)
    for k, name in enumerate(columns):
        code = re.sub(r"\b%s\b" % name, "X[%d]" % k, code)
    return eval("lambda b, X: " + code, {"np": np})


def lre(q, c, digits=11.0):
    if not math.isfinite(q):
        return 0.0
    if q == c:
        return digits
    value = -math.log10(abs(q - c) / abs(c)) if c != 0 else -math.log10(abs(q))
    return max(0.0, min(digits, value))


def main():
    folder = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    total = 0.0
    for path in sorted(glob.glob(os.path.join(folder, "*.dat"))):
        name = os.path.basename(path)[:-4]
        names, starts, certified, lhs, rhs, columns, data = read_problem(path)
        X = data.T
        model = compile_side(rhs, names, columns)
        response = compile_side(lhs, names, columns)(None, X)

        def residuals(b):
            return model(b, X) - response

        for s in range(2):
            x0 = np.array(starts[s])
            times = []
            for _ in range(repeats):
                t0 = time.thread_time()
                with np.errstate(all="ignore"):
                    result = least_squares(residuals, x0, method="lm")
                times.append(time.thread_time() - t0)
            times.sort()
            us = 1e6 * times[len(times) // 2]
            total += us
            score = min(lre(q, c) for q, c in zip(result.x, certified))
            print("scipy %s %d %.1f %.2f" % (name, s + 1, us, score), flush=True)
    print("scipy-total %.3f" % (total / 1000))


if __name__ == "__main__":
    main()
