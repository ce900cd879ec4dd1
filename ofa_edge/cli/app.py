"""The ``ofa-edge`` command: wiring only. Each command lives in its own ``*_cmd`` module
with a ``register(app)`` function; this module finds them, runs the app and turns known
errors into exit code 2 with a one-paragraph message (a traceback only with OFA_EDGE_DEBUG=1).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from ofa_edge.cli.common import err
from ofa_edge.errors import UserError

app = typer.Typer(
    name="ofa-edge",
    help="Train one once-for-all supernet, profile devices, search subnets under a latency budget, export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Pipeline order for --help: space -> train -> profile -> search -> export (+ prune).
ORDER = ["quickstart", "space", "devices", "train", "eval", "profile", "search", "export", "prune"]


def _register_commands() -> None:
    import ofa_edge.cli as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.endswith("_cmd")]
    names.sort(key=lambda n: ORDER.index(n[:-4]) if n[:-4] in ORDER else len(ORDER))
    for name in names:
        importlib.import_module(f"ofa_edge.cli.{name}").register(app)


_register_commands()


@app.callback()
def _root() -> None:
    """Train one once-for-all supernet, profile devices, search subnets under a latency budget, export."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: returns the exit code (0 ok, 1 internal error, 2 bad input).

    Usage errors are reported by typer itself (exit 2); a :class:`UserError` raised by the
    library becomes a one-paragraph message and exit 2.
    """
    try:
        app(args=argv, prog_name="ofa-edge")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except UserError as e:
        err.print(f"[bold red]error:[/bold red] {e}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted; long jobs resume where they stopped (run the same command again).")
        return 130
    except Exception as e:
        if os.environ.get("OFA_EDGE_DEBUG"):
            raise
        err.print(
            f"[bold red]internal error:[/bold red] {type(e).__name__}: {e}\n"
            "Set OFA_EDGE_DEBUG=1 for the traceback and report it.",
            highlight=False,
        )
        return 1
    return 0


def run() -> None:
    sys.exit(main())
