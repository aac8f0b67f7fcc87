"""Robustness of `nabla fit` from random starts, against SciPy from the same starts.

For each model (NIST StRD problems: formula, data and certified residual sum of squares
read from the files), draw STARTS start vectors, each parameter of NIST's first start
times 10^U(-1,1) (seeded), and count the starts that reach the certified sum of squares
(relative 1e-6) with:
  nabla        `nabla fit` at its defaults (the program, as a user runs it)
  nabla-s8     `nabla fit --starts 8 --seed 1`
  lm, trf      scipy.optimize.least_squares(method=...) at its defaults
  curve_fit    scipy.optimize.curve_fit at its defaults
A "loud stop" is nabla exiting with an error (no estimates) from a start where some SciPy
method reached the optimum. Then bounded problems: nabla --bounds against least_squares
trf with the same bounds (sum of squares reached, and wall time per fit: nabla's includes
starting the program, SciPy's only the call).
usage: fit_robust.py NABLA NIST_DIR [starts] [models...]   (FIT_ROBUST=--no-bounds skips the
bounded problems)"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, least_squares

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nist_scipy import compile_side, read_problem  # noqa: E402

MODELS = ["Misra1a", "Chwirut2", "DanWood", "Rat42", "Rat43", "Lanczos3", "Kirby2", "Nelson"]


def certified_sse(path):
    for line in open(path):
        if line.startswith("Residual Sum of Squares:"):
            return float(line.split()[-1])
    raise ValueError(path)


def nabla_fit(nabla, formula, csv, names, x0, extra):
    init = ",".join("%s=%.17g" % (n, v) for n, v in zip(names, x0))
    t0 = time.perf_counter()
    run = subprocess.run([nabla, "fit", formula, csv, "--json", "--init", init] + extra, capture_output=True,
                         text=True)
    seconds = time.perf_counter() - t0
    if run.returncode != 0 and not run.stdout.strip():
        return None, run.stderr.strip(), seconds
    out = json.loads(run.stdout)
    return out, "", seconds


def scipy_fits(residuals, model_fn, X, response, x0):
    out = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in ("lm", "trf"):
            try:
                r = least_squares(residuals, x0, method=method)
                out[method] = float(np.sum(r.fun ** 2))
            except Exception:
                out[method] = math.inf
        try:
            p, _ = curve_fit(lambda X, *b: model_fn(np.array(b), X), X, response, p0=x0)
            out["curve_fit"] = float(np.sum(residuals(p) ** 2))
        except (RuntimeError, ValueError, OptimizeWarning):
            out["curve_fit"] = math.inf
    return out


def problem(folder, name, workdir):
    path = os.path.join(folder, name + ".dat")
    names, starts, certified, lhs, rhs, columns, data = read_problem(path)
    X = data.T
    model_fn = compile_side(rhs, names, columns)
    response = compile_side(lhs, names, columns)(None, X)
    csv = os.path.join(workdir, name + ".csv")
    with open(csv, "w") as f:
        f.write(",".join(columns) + "\n")
        for row in data:
            f.write(",".join("%.17g" % v for v in row) + "\n")
    return dict(name=name, names=names, start=np.array(starts[0]), formula=lhs + " = " + rhs, csv=csv, X=X,
                model=model_fn, response=response, best=certified_sse(path), certified=certified)


def robustness(nabla, p, n_starts, rng, totals, loud):
    def residuals(b):
        return p["model"](b, p["X"]) - p["response"]

    reached = dict.fromkeys(totals, 0)
    for _ in range(n_starts):
        x0 = p["start"] * 10 ** rng.uniform(-1, 1, size=len(p["start"]))
        ok = {}
        for key, extra in (("nabla", []), ("nabla-s8", ["--starts", "8", "--seed", "1"])):
            out, error, _ = nabla_fit(nabla, p["formula"], p["csv"], p["names"], x0, extra)
            ok[key] = out is not None and out["sse"] <= p["best"] * (1 + 1e-6)
            if out is None:
                ok[key + "-error"] = error
        for key, sse in scipy_fits(residuals, p["model"], p["X"], p["response"], x0).items():
            ok[key] = sse <= p["best"] * (1 + 1e-6)
        for key in totals:
            reached[key] += ok[key]
            totals[key] += ok[key]
        if any(ok[k] for k in ("lm", "trf", "curve_fit")):
            for key in ("nabla", "nabla-s8"):
                if key + "-error" in ok:
                    loud.append("%s %s from %s: %s" % (p["name"], key, np.array2string(x0, precision=4),
                                                       ok[key + "-error"][:160]))
    print("%-10s" % p["name"] + "".join("%12d" % reached[k] for k in totals) + "   of %d" % n_starts, flush=True)


BOUNDED = [
    # model, bounds text for nabla, per-parameter (lower, upper) for SciPy, in NIST parameter order
    ("Misra1a", "b1<=200", [(-np.inf, 200), (-np.inf, np.inf)]),
    ("Misra1a", "0<=b1<=1000, 0<=b2<=1", [(0, 1000), (0, 1)]),
    ("Rat43", "b4>=1.5", [(-np.inf, np.inf)] * 3 + [(1.5, np.inf)]),
    ("DanWood", "0.5<=b1<=0.7", [(0.5, 0.7), (-np.inf, np.inf)]),
    ("Chwirut2", "b2>=0.01, b3<=0.02", [(-np.inf, np.inf), (0.01, np.inf), (-np.inf, 0.02)]),
    ("Thurber", "b1>=1300, b5<=0.9", [(1300, np.inf)] + [(-np.inf, np.inf)] * 3 + [(-np.inf, 0.9)] +
     [(-np.inf, np.inf)] * 2),
]


def bounded(nabla, folder, workdir):
    print("\nbounded: %-10s %-24s %14s %14s %10s %10s" % ("model", "bounds", "nabla SSE", "trf SSE", "nabla ms",
                                                          "trf ms"))
    for name, text, pairs in BOUNDED:
        p = problem(folder, name, workdir)
        lo = np.array([a for a, _ in pairs], float)
        hi = np.array([b for _, b in pairs], float)
        x0 = np.clip(p["start"], lo, hi)
        x0 = np.where(np.isfinite(lo) & (x0 == lo), lo + 1e-3 * np.maximum(1, abs(np.nan_to_num(lo))), x0)
        x0 = np.where(np.isfinite(hi) & (x0 == hi), hi - 1e-3 * np.maximum(1, abs(np.nan_to_num(hi))), x0)

        def residuals(b):
            return p["model"](b, p["X"]) - p["response"]

        t0 = time.perf_counter()
        with np.errstate(all="ignore"):
            r = least_squares(residuals, x0, method="trf", bounds=(lo, hi))
        trf_ms = 1e3 * (time.perf_counter() - t0)
        out, error, seconds = nabla_fit(nabla, p["formula"], p["csv"], p["names"], x0, ["--bounds", text])
        sse = out["sse"] if out else math.nan
        print("bounded: %-10s %-24s %14.8g %14.8g %10.1f %10.1f%s" % (
            name, text, sse, float(np.sum(r.fun ** 2)), 1e3 * seconds, trf_ms, "" if out else "  " + error[:80]))


def main():
    nabla, folder = sys.argv[1], sys.argv[2]
    n_starts = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    models = sys.argv[4:] or MODELS
    rng = np.random.default_rng(20261204)
    keys = ["nabla", "nabla-s8", "lm", "trf", "curve_fit"]
    totals = dict.fromkeys(keys, 0)
    loud = []
    with tempfile.TemporaryDirectory() as workdir:
        print("%-10s" % "model" + "".join("%12s" % k for k in keys), flush=True)
        for name in models:
            robustness(nabla, problem(folder, name, workdir), n_starts, rng, totals, loud)
        n = n_starts * len(models)
        print("%-10s" % "total" + "".join("%12d" % totals[k] for k in keys) + "   of %d" % n)
        print("nabla defaults %.1f%% (target >= 95%%, and more than trf's %d)" % (100 * totals["nabla"] / n,
                                                                                  totals["trf"]))
        print("loud stops where a SciPy method reached the optimum: %d" % len(loud))
        for line in loud:
            print("  " + line)
        if "--no-bounds" not in os.environ.get("FIT_ROBUST", ""):
            bounded(nabla, folder, workdir)


if __name__ == "__main__":
    main()
