"""The GPU session scripts (scripts/gpu/*.sh) call only options that exist: a GPU lease is short and
rare, and a renamed option would spend it on a usage error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ofa_edge.cli.app import COMMANDS, load_command

ROOT = Path(__file__).parents[1]
SCRIPTS = sorted((ROOT / "scripts" / "gpu").glob("*.sh"))
PROGRAM = r"python3 +(?:(?P<script>(?:benchmarks|scripts)/\w+\.py)|-m +ofa_edge +(?P<cmd>[a-z]+))"
ARGS = r"(?P<args>[^>|;&)]*)"  # up to a redirection, a pipe, a list's end or a closing bracket
ALIAS = re.compile(rf"(?P<name>\w+)(?:=\(|\(\) *\{{) *{PROGRAM}{ARGS}")  # NAME=(python3 ...) or NAME() { python3 ...
LOOP = re.compile(r"for (\w+) in ([^;]+);")
FLAG_VAR = re.compile(r"(\w+)=(--[\w-]+)")


def _flags(args: str, values: dict[str, list[str]]) -> list[str]:
    """The long options in ``args``, with ``--"$v"``, ``$v`` and ``${v:-}`` expanded from loops and assignments."""
    for var, vals in values.items():
        ref = rf'(?:"?\$\{{{var}(?::-[^}}]*)?\}}"?|"?\${var}\b"?)'
        args = re.sub(rf"--{ref}", " ".join(f"--{v.removeprefix('--')}" for v in vals), args)
        args = re.sub(ref, " ".join(vals), args)
    return re.findall(r"(?<![\w$\"'-])(--[a-z][\w-]*)", args)


def _calls() -> list[tuple[str, str, list[str]]]:
    """(script file, program, flags) for every call, through aliases (a bash array or function)."""
    calls = []
    for path in SCRIPTS:
        lines = [ln for ln in path.read_text().replace("\\\n", " ").splitlines() if not ln.lstrip().startswith("#")]
        text = "\n".join(lines)
        values = {var: vals.split() for var, vals in LOOP.findall(text)}
        for var, flag in FLAG_VAR.findall(text):
            values.setdefault(var, []).append(flag)
        aliases = {m["name"]: (m["script"] or m["cmd"], m["args"]) for m in ALIAS.finditer(text)}
        for m in re.finditer(rf"{PROGRAM}{ARGS}", text):
            calls.append((path.name, m["script"] or m["cmd"], _flags(m["args"], values)))
        for name, (program, _) in aliases.items():
            for m in re.finditer(rf"(?:\"\$\{{{name}\[@\]\}}\"|^\s*{name}\b){ARGS}", text, re.MULTILINE):
                calls.append((path.name, program, _flags(m["args"], values)))
    return calls


def _program_options(program: str) -> set[str]:
    if program in COMMANDS:
        return {o for p in load_command(program).params for o in (*p.opts, *p.secondary_opts)}
    help_text = subprocess.run(
        [sys.executable, program, "--help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(re.findall(r"--[a-z][\w-]*", help_text))


def test_every_gpu_script_call_is_found() -> None:
    found = {(script, program, flag) for script, program, flags in _calls() for flag in flags}
    assert {
        ("repro.sh", "benchmarks/train_cost.py", "--only"),  # through the REPRO array
        ("train_jobs.sh", "benchmarks/train_cost.py", "--only"),  # through the repro function
        ("measure.sh", "benchmarks/train_cost.py", "--no-cuda-graphs"),  # through ${graphs:-}
        ("trainer_overhead.sh", "train", "--cudnn-benchmark"),  # through --"$mode"
        ("trainer_overhead.sh", "train", "--cuda-graphs"),
        ("spfde.sh", "benchmarks/bench_spfde.py", "--freeze-target"),
        ("latency_gpu.sh", "profile", "--validate"),
    } <= found


@pytest.mark.parametrize("program", sorted({program for _, program, _ in _calls()}))
def test_every_option_a_gpu_script_passes_exists(program: str) -> None:
    options = _program_options(program)
    wrong = sorted({f"{script}: {flag}" for script, prog, flags in _calls() if prog == program for flag in flags})
    wrong = [w for w in wrong if w.split(": ")[1] not in options]
    assert not wrong, f"{program} has no such option: {wrong}"
