"""The ``ofa-edge`` command: wiring only. Each command lives in its own ``<name>_cmd`` module
with a ``register(app)`` function, imported only when that command runs: ``ofa-edge --help``
lists the commands from their source without importing torch, and ``ofa-edge search`` loads
search's dependencies, not export's. :func:`main` turns known errors into exit code 2 with a
one-paragraph message (a traceback only with OFA_EDGE_DEBUG=1).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
import os
import platform
import signal
import sys
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup

import ofa_edge
from ofa_edge.cli.common import err
from ofa_edge.errors import Interrupted, UserError, for_cli
from ofa_edge.io import DISK_FULL
from ofa_edge.paths import work_dir, work_dir_origin
from ofa_edge.units import spaced_value

OK, INTERNAL_ERROR, BAD_INPUT = 0, 1, 2
INTERRUPTED = 130  # the shell's code for a process ended by SIGINT
TERMINATED = 128 + signal.SIGTERM  # 143, as the shell reports a process ended by SIGTERM
EXIT_CODES = {  # what main returns; `ofa-edge --help` and the README list them
    OK: "success",
    INTERNAL_ERROR: "internal error: a bug to report (OFA_EDGE_DEBUG=1 shows the traceback)",
    BAD_INPUT: "bad input or a refused path (full disk, no permission): see the message",
    INTERRUPTED: "Ctrl-C: locks and temporary files removed, resume state kept",
    TERMINATED: "SIGTERM (kill, a scheduler's preemption): stopped as Ctrl-C stops it",
}

# The commands, in pipeline order for --help: space -> train -> profile -> search -> export (+ prune), then docs.
COMMANDS = ["quickstart", "space", "devices", "train", "eval", "profile", "search", "export", "prune", "docs"]


def _source(name: str) -> Path:
    spec = importlib.util.find_spec(f"ofa_edge.cli.{name}_cmd")
    assert spec is not None and spec.origin, name
    return Path(spec.origin)


def command_help(name: str) -> str:
    """The docstring of the function that ``<name>_cmd.register`` registers, read from the source."""
    tree = ast.parse(_source(name).read_text())
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    registered = next(
        call.args[0].id
        for call in ast.walk(functions["register"])
        if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Name)
    )
    return ast.get_docstring(functions[registered]) or ""


def load_command(name: str) -> typer.core.TyperCommand:
    """Import ``<name>_cmd`` and build its click command."""
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    importlib.import_module(f"ofa_edge.cli.{name}_cmd").register(single)
    command = typer.main.get_command(single)
    show_conventional_metavars(command)
    return command


# typer >= 0.29 names an annotation's type (``<int>``); click, and typer before it, name the value (INTEGER)
_METAVARS = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "path": "PATH", "list[str]": "TEXT"}


def show_conventional_metavars(command: typer.core.TyperCommand | TyperGroup) -> None:
    """Write the options' values in ``--help`` as click-based CLIs do: ``INTEGER``, ``TEXT``, ``PATH``, and
    nothing for a flag (newer typer shows ``<int>``, ``<str>``, ``<bool>``). A metavar a command chose stays;
    arguments keep typer's (their metavar is their name)."""
    options = [p for p in command.params if isinstance(p, typer.core.TyperOption)]
    options.append(command.get_help_option(typer.Context(command)))  # made once, then reused by every context
    for option in options:
        if option is not None and option.metavar is None:
            option.metavar = "" if option.is_flag else _METAVARS.get(_value_type(option), _value_type(option).upper())


def _value_type(option: typer.core.TyperOption) -> str:
    """The option's value type as typer names it (``int``, ``Path``), or click's type name before typer 0.29."""
    return (option.bare_type() if hasattr(option, "bare_type") else option.type.name).lower()


class LazyCommands(TyperGroup):
    """A group whose commands are imported on first use (their help listing is read from source)."""

    listing = False  # True while the group's own --help is rendered

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.TyperCommand | None:
        if cmd_name not in COMMANDS:
            return None
        return TyperCommand(cmd_name, help=command_help(cmd_name)) if self.listing else load_command(cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple:  # (name, command, remaining args)
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:  # typer suggests only loaded commands
            close = difflib.get_close_matches(name, COMMANDS)
            ctx.fail(f"No such command {name!r}." + (f" Did you mean {', '.join(map(repr, close))}?" if close else ""))
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: typer.Context, formatter) -> None:
        show_conventional_metavars(self)
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    name="ofa-edge",
    cls=LazyCommands,
    help="Train one once-for-all supernet, profile devices, search subnets under a latency budget, export.\n\n"
    "Outputs go under the work dir (<work dir> in the commands' help): ./ofa-edge-runs, or $OFA_EDGE_HOME.",
    epilog="Exit codes:\n\n" + "\n\n".join(f"{code:>4}  {meaning}" for code, meaning in EXIT_CODES.items()),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_line() -> str:
    """``ofa-edge X (python P, torch T, onnxruntime O, tensorrt R)``, read from installed metadata
    (nothing is imported; an absent package shows as ``absent``)."""

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    peers = ", ".join(f"{n} {installed(n)}" for n in ("torch", "onnxruntime", "tensorrt"))
    return f"ofa-edge {ofa_edge.__version__} (python {platform.python_version()}, {peers})"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the versions and exit."),
    ] = False,
) -> None:
    """Train one once-for-all supernet, profile devices, search subnets under a latency budget, export."""


def path_error(e: OSError) -> str:
    """A user's path the system refused (a folder where a file goes, a file where a folder goes,
    no permission, a read-only place, a full disk), as one line that names the path and what to do."""
    path = e.filename2 if isinstance(e, IsADirectoryError) and e.filename2 is not None else e.filename
    reason = e.strerror or type(e).__name__
    full = e.errno in DISK_FULL
    if path is None:  # only a full disk comes here without a path
        return f"cannot write: {reason}. Free space on the disk of the output folder, then run the same command again."
    home = work_dir().resolve()
    if home in (p := Path(path).resolve(), *p.parents):
        fix = "a folder on another disk (or free space there)" if full else "a writable folder"
        return (
            f"cannot use '{path}': {reason}. ofa-edge keeps its work files (last search, caches) in '{work_dir()}' "
            f"(from {work_dir_origin()}); set OFA_EDGE_HOME to {fix}."
        )
    if full:
        return (
            f"cannot write '{path}': {reason}. Free space on its disk and run the same command again (train and prune "
            "resume from their last checkpoint; train: with --resume), or pass an output folder on another disk."
        )
    return f"cannot use '{path}': {reason}. Pass a path where this command can read or write (a writable folder for --out)."


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code, one of :data:`EXIT_CODES`.

    Usage errors are reported by typer itself (exit 2); a :class:`UserError` raised by the
    library, or the system refusing a path (``OSError`` with a file name: a folder where a file
    goes, no permission; or a full disk), becomes a one-paragraph message and exit 2. SIGTERM (``kill``, a
    batch scheduler's preemption) stops the command as Ctrl-C does: temporary files and locks are removed,
    what a long job keeps for resuming is kept, and the same message says so.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread may take signals
        return _main(argv)
    terminated: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        code = _main(argv)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return TERMINATED if terminated and code == INTERRUPTED else code


def _main(argv: list[str] | None) -> int:
    """:func:`main` without its SIGTERM handler."""
    if message := spaced_value(sys.argv[1:] if argv is None else argv):
        err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
        return BAD_INPUT
    try:
        app(args=argv, prog_name="ofa-edge")
    except SystemExit as e:
        if e.code == INTERRUPTED:  # typer turns Ctrl-C into a silent exit 130
            return _interrupted(e)
        return e.code if isinstance(e.code, int) else (OK if e.code is None else INTERNAL_ERROR)
    except UserError as e:
        err.print(f"[bold red]error:[/bold red] {for_cli(e)}", highlight=False, soft_wrap=True)
        return BAD_INPUT
    except KeyboardInterrupt as e:
        return _interrupted(e)
    except Exception as e:
        if os.environ.get("OFA_EDGE_DEBUG"):
            raise
        if isinstance(e, OSError) and (e.filename is not None or e.errno in DISK_FULL):
            err.print(f"[bold red]error:[/bold red] {path_error(e)}", highlight=False, soft_wrap=True)
            return BAD_INPUT
        err.print(
            f"[bold red]internal error:[/bold red] {type(e).__name__}: {e}\n"
            "Set OFA_EDGE_DEBUG=1 for the traceback and report it.",
            highlight=False,
        )
        return INTERNAL_ERROR
    return OK


def _interrupted(e: BaseException) -> int:
    """Say what a Ctrl-C (``e``, or typer's exit raised from it) left: an :class:`Interrupted`'s own message."""
    while e is not None and not isinstance(e, KeyboardInterrupt):  # typer's exit, from click's, from the Ctrl-C
        e = e.__cause__ or e.__context__
    err.print(
        str(e)
        if isinstance(e, Interrupted)
        else "interrupted; long jobs resume where they stopped: run the same command again (train: with --resume, "
        "from its last checkpoint: the last epoch's end, or every --ckpt-every N steps)."
    )
    return INTERRUPTED


def run() -> None:
    sys.exit(main())
