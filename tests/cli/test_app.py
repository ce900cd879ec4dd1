"""The ``ofa-edge`` command itself: every command module is listed, and the listing imports no torch."""

from __future__ import annotations

import io
import os
import pkgutil
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import ofa_edge
import ofa_edge.cli as cli_pkg
from ofa_edge.cli.app import BAD_INPUT, COMMANDS, EXIT_CODES, OK, TERMINATED, command_help, load_command

PROBE = (
    "import sys\n"
    "from ofa_edge.cli.app import main\n"
    "code = main(['--help'])\n"
    "print('TORCH_LOADED' if 'torch' in sys.modules else 'NO_TORCH', code)\n"
)
# Every command's --help in one process: the heavy runtimes it left imported (none, else their names).
HELP_PROBE = (
    "import contextlib, io, sys\n"
    "from ofa_edge.cli.app import COMMANDS, main\n"
    "for name in COMMANDS:\n"
    "    with contextlib.redirect_stdout(io.StringIO()):\n"
    "        assert main([name, '--help']) == 0, name\n"
    "    heavy = [m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules]\n"
    "    print(name, *heavy or ['-'])\n"
)


def test_every_command_module_is_listed_with_its_help() -> None:
    modules = {m.name.removesuffix("_cmd") for m in pkgutil.iter_modules(cli_pkg.__path__) if m.name.endswith("_cmd")}
    assert set(COMMANDS) == modules
    for name in COMMANDS:  # the help read from source is the help the loaded command shows
        assert command_help(name) and command_help(name) == load_command(name).help


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help_writes_values_as_click_does_and_flags_bare(cli, command) -> None:
    """typer 0.29 wrote ``<int>``, ``<str>`` and ``<bool>`` (even after --help); ``--help`` shows INTEGER, TEXT,
    PATH or a command's own metavar, and nothing after a flag."""
    code, out, _ = cli(*command, "--help")
    assert code == OK
    options = [line for line in out.splitlines() if re.match(r"│ [ *]*(--|-[a-z] )", line)]
    assert options and not re.search(r"<(bool|int|float|str|path)>", "\n".join(options))
    assert re.search(r"│ +--help +Show this message", out)  # a flag: no placeholder between it and its help


def test_top_level_help_lists_commands_without_importing_torch() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO_TORCH 0")
    for name in COMMANDS:
        assert f" {name} " in proc.stdout


def test_command_help_imports_no_torch_onnx_or_onnxruntime() -> None:
    """``ofa-edge <command> --help`` builds the command's options without its runtimes (a second, not 4 to 8)."""
    proc = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"{name} -" for name in COMMANDS]


def test_version_names_ofa_edge_and_its_runtimes(cli) -> None:
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith(f"ofa-edge {ofa_edge.__version__} (python ")
    assert f"torch {torch.__version__.split('+')[0]}" in out and "onnxruntime " in out and "tensorrt " in out


def test_a_mistyped_command_exits_2_with_the_command_meant(cli) -> None:
    code, _, err = cli("serch", "--latency", "15ms")
    assert code == 2 and "No such command 'serch'. Did you mean 'search'?" in " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "fix"),
    [(["search", "--latency", "15", "ms"], "(--latency 15ms)"),
     (["search", "--latency", "15ms,", "4ms"], "(--latency 15ms,4ms)"),
     (["search", "--latency", "15ms,", "20ms,", "30ms"], "(--latency 15ms,20ms,30ms)"),
     (["search", "--flops", "300", "M"], "(--flops 300M)")],
)  # fmt: skip
def test_a_value_the_shell_split_is_named_with_its_fix(cli, args, fix) -> None:
    code, out, err = cli(*args)
    assert code == 2 and not out and fix in " ".join(err.split())


def test_a_path_the_system_refuses_is_a_user_error(cli, tmp_path) -> None:
    """A file where a folder goes, a folder where a file goes: exit 2 naming the path, no traceback."""
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder\n")
    code, _, err = cli("search", "--latency", "2ms", "--no-measure", "--out", str(a_file / "sub"))
    assert code == 2 and f"'{a_file}' is a file, not a folder" in err.replace("\n", "")
    assert str(a_file / "sub") in err.replace("\n", "")
    (tmp_path / "adir").mkdir()
    code, _, err = cli("profile", "-d", "raspberry-pi-5", "--estimate", "--force", "-o", str(tmp_path / "adir"))
    assert (
        code == 2
        and "it is a folder; pass the path of a file in it" in " ".join(err.split())
        and "internal error" not in err
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left behind


@pytest.mark.parametrize(
    "command",
    [
        ["search", "--latency", "3ms", "--no-measure", "--out", "{tmp}/s"],
        ["profile", "-d", "raspberry-pi-5", "--estimate", "-o", "{tmp}/s/t.json"],
    ],
)
def test_an_unusable_work_folder_is_refused_before_any_work(cli, tmp_path, monkeypatch, command) -> None:
    """A search or profile whose output is fine but whose work folder ($OFA_EDGE_HOME) cannot be written
    (where the last search and profile are noted) is refused before it runs: they used to run to the end,
    an hour of measuring for profile, then exit 2. The message names OFA_EDGE_HOME, not --out."""
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder\n")
    monkeypatch.setenv("OFA_EDGE_HOME", str(a_file / "home"))
    code, _, err = cli(*(arg.format(tmp=tmp_path) for arg in command))
    msg = " ".join(err.split())
    assert code == 2 and "set OFA_EDGE_HOME to a writable folder" in msg and "--out" not in msg
    assert f"'{a_file}' is a file, not a folder" in msg
    assert not (tmp_path / "s").exists()


def test_a_full_disk_exits_2_naming_the_file_and_the_old_table_survives(cli, full_disk, fill_disk) -> None:
    """A full disk was an internal error (exit 1) that named no path."""
    table = full_disk / "t.json"
    table.write_text("{}")  # stands for the user's previous table: it must survive whole
    fill_disk(8192)
    code, _, err = cli("profile", "-d", "raspberry-pi-5", "--estimate", "--force", "-o", str(table))
    msg = " ".join(err.split())
    assert code == 2 and f"cannot write '{table}': No space left on device. Free space on its disk" in msg
    assert table.read_text() == "{}" and sorted(p.name for p in full_disk.iterdir()) == ["filler", "t.json"]


def test_sigterm_stops_a_command_as_ctrl_c_does_and_exits_143(cli, monkeypatch) -> None:
    """SIGTERM (``kill``, a scheduler's preemption) killed the process outright: no message, and its locks,
    temporary files and stages were left behind. It now unwinds as Ctrl-C does."""
    seen: list[int] = []

    def missed(signum: int, _frame: object) -> None:  # what takes a SIGTERM that main does not
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, missed)

    class KilledWhileReading(io.StringIO):
        def read(self, *_args) -> str:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises at once; this never ends on its own
            return ""

    monkeypatch.setattr(sys, "stdin", KilledWhileReading())
    try:
        code, out, err = cli("profile", "--device", "-")  # blocks reading the device file from stdin
        assert code == 143 and out == "" and not seen
        assert " ".join(err.split()).startswith("interrupted; long jobs resume where they stopped")
        assert signal.getsignal(signal.SIGTERM) is missed  # main put the handler back
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ranges_are_checked_by_check_range_not_by_typer() -> None:
    """typer's min=/max= answer in a box of their own wording; every command says range errors the
    one way (``--opt V: must be >= 1.``), through :func:`ofa_edge.units.check_range`."""
    import re
    from pathlib import Path

    cli_dir = Path(cli_pkg.__path__[0])
    boxed = [
        f"{p.name}:{i}"
        for p in sorted(cli_dir.glob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"typer\.Option\(.*\b(min|max)=", line) or re.match(r"\s+(min|max)=\d", line)
    ]
    assert not boxed, f"typer range checks left: {boxed}"


@pytest.mark.parametrize(
    "command",
    [
        ["search", "--flops", "300M", "--accuracy-proxy", "macs"],
        ["profile", "--validate", "20"],
        ["train"],
        ["prune", "--target-sparsity", "0.5"],
        ["eval"],
    ],
)
def test_a_negative_seed_exits_2_in_every_command(cli, command) -> None:
    """numpy's generators refuse negative seeds: it was an internal error in search and profile."""
    code, _, err = cli(*command, "--seed", "-1")
    assert code == 2 and "--seed -1: must be >= 0." in err


def test_ctrl_c_ends_with_one_line_and_exit_130(cli, monkeypatch) -> None:
    """typer turns Ctrl-C into a silent exit 130; the user is told that long jobs resume, and train from its
    last checkpoint (a Ctrl-C mid-epoch loses that epoch's steps unless --ckpt-every saved them)."""

    def interrupted() -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr("ofa_edge.space.SearchSpace.names", interrupted)
    code, out, err = cli("space")
    assert code == 130 and out == ""
    assert (
        " ".join(err.split())
        == "interrupted; long jobs resume where they stopped: run the same command again (train: with --resume, "
        "from its last checkpoint: the last epoch's end, or every --ckpt-every N steps)."
    )


def test_the_exit_codes_are_documented_where_a_user_looks(cli) -> None:
    """ofa-edge exits 0/1/2/130/143 and said so nowhere: the README and ``ofa-edge --help`` list main's codes."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert [int(c) for c in re.findall(r"^\| (\d+) \|", readme, flags=re.MULTILINE)] == list(EXIT_CODES)
    code, out, _ = cli("--help")
    assert code == OK
    help_text = " ".join(out.split())
    for number, meaning in EXIT_CODES.items():
        assert f"{number} {' '.join(meaning.split())}" in help_text
    assert cli("serch")[0] == BAD_INPUT and TERMINATED == 143  # a shell's 128 + SIGTERM
