"""Start-up and a one-file fit, nabla against gnuplot's fit: every command is run many
times, each child's own CPU time (user + system, from wait4) and wall time are taken, and
the medians printed. Called by bench/fit_startup.sh."""
import os
import statistics
import subprocess
import sys
import time


def measure(argv, runs, cwd):
    cpu, wall = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed with status {child.returncode}")
        cpu.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(cpu) * 1e3, statistics.median(wall) * 1e3


def main():
    nabla, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    gnuplot = "/usr/bin/gnuplot"
    fit_script = ("f(x) = a*exp(-b*x); a = 1; b = 1; set fit quiet; set fit logfile '/dev/null'; "
                  "fit f(x) 'decay.dat' using 1:2 via a, b; print a, b")
    # /bin/true is the floor: what creating any process costs on this machine now.
    # --version is not start-up: it loads BLAS to name it.
    cases = [
        ("floor: /bin/true", ["/bin/true"], None),
        ("start-up (fit --help; gnuplot exit)", [nabla, "fit", "--help"], [gnuplot, "-e", "exit"]),
        ("one-file fit", [nabla, "fit", "y = a*exp(-b*x)", "decay.dat"], [gnuplot, "-e", fit_script]),
        ("fit --plot", [nabla, "fit", "y = a*exp(-b*x)", "decay.dat", "--plot", "decay.png"], None),
    ]
    print(f"{'medians over ' + str(runs) + ' runs (ms)':<36} nabla cpu  nabla wall   gnuplot cpu  gnuplot wall")
    for name, ours, theirs in cases:
        cpu, wall = measure(ours, runs, work)
        line = f"{name:<36} {cpu:9.2f}  {wall:10.2f}"
        if theirs:
            gcpu, gwall = measure(theirs, runs, work)
            line += f"   {gcpu:11.2f}  {gwall:12.2f}"
        print(line)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


main()
