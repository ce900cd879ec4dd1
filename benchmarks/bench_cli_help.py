"""Seconds for ``ofa-edge --help`` and ``ofa-edge <command> --help``, the command line's start-up, and for
a search that measures nothing (the embedded supernet's saved predictor, jetson-orin's estimated table),
which is start-up and little else.

    PYTHONPATH=. python benchmarks/bench_cli_help.py [--runs 3] [--json out.json]

Each command is run ``--runs`` times as ``python -m ofa_edge ...`` in a fresh process, commands
interleaved (the search writes under a temporary ``$OFA_EDGE_HOME``); the table shows the median wall
time and which of torch, onnxruntime and onnx the command imported. ``python -m`` takes ``ofa_edge`` from the current folder first: run it from the checkout
(or from an export of another commit, to time that one), not from an installed copy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ofa_edge.cli.app import COMMANDS
from ofa_edge.host import cpu_run_header
from ofa_edge.io import atomic_write_json

HEAVY = ("torch", "onnxruntime", "onnx")
SEARCH = ["search", "--latency", "15ms", "--device", "jetson-orin"]
# What the help imported, printed after it (stdout carries the help; this goes to stderr).
PROBE = (
    "import sys\n"
    "from ofa_edge.cli.app import main\n"
    "code = main(sys.argv[1:])\n"
    f"print('imported:', *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def time_command(args: list[str]) -> float:
    """Wall seconds of ``python -m ofa_edge *args`` (exit code 0 required)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ofa_edge", *args], check=True, capture_output=True)
    return time.perf_counter() - t


def imported(args: list[str]) -> list[str]:
    """Which of :data:`HEAVY` the command ``args`` leaves in ``sys.modules`` (a run of its own, not timed)."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], check=True, capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1].split()[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ["OFA_EDGE_HOME"] = tempfile.mkdtemp(prefix="bench-cli-")  # the search's outputs
    helps = [["--help"], *([name, "--help"] for name in COMMANDS), SEARCH]
    seconds: dict[str, list[float]] = {" ".join(h): [] for h in helps}
    for _ in range(args.runs):
        for h in helps:
            seconds[" ".join(h)].append(time_command(h))
    rows = [
        {"command": f"ofa-edge {' '.join(h)}", "median_s": statistics.median(seconds[" ".join(h)]),
         "runs_s": seconds[" ".join(h)], "imported": imported(h)}
        for h in helps
    ]  # fmt: skip
    table = Table(title=f"ofa-edge start-up (median of {args.runs} runs)")
    for col in ("command", "seconds", "imported"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for r in rows:
        table.add_row(r["command"], f"{r['median_s']:.2f}", ", ".join(r["imported"]) or "-")
    Console().print(table)
    if args.json:
        atomic_write_json(
            args.json,
            {**cpu_run_header(), "python": platform.python_version(), "settings": {"runs": args.runs}, "rows": rows},
        )


if __name__ == "__main__":
    main()
