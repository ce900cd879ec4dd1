"""``ofa-edge profile --ssh user@host``: profile on a remote device, bring the table back.

The remote machine runs ``ofa-edge profile`` itself (so the numbers are its own) through
the ``ssh`` binary, with this machine's device (``Device.to_yaml``) on its stdin (``--device -``: a device of yours
is unknown there); the table (and any validation report) is copied back with ``scp``.
The remote output path is stable, so an interrupted remote profile resumes on the next call.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError
from ofa_edge.host import now_utc
from ofa_edge.io import atomic_write
from ofa_edge.latency.e2e import reports_dir
from ofa_edge.latency.profiler import remeasure_path
from ofa_edge.latency.table import LatencyTable, lock_table

REMOTE_DIR = "ofa-edge-remote/latency_tables"
PID_NOTE = "remote profile: process"  # the remote run's first note: `PID_NOTE <pid>`, which Ctrl-C here stops
_PID_LINE = re.compile(rf"{re.escape(PID_NOTE)} (\d+)")


def _opts(ssh_opts: list[str]) -> list[str]:
    return [a for o in ssh_opts for a in ("-o", o)]


def check_target(target: str) -> None:
    """Refuse an ``--ssh`` value that is no ssh destination (empty, an option, with spaces)."""
    if not target.strip():
        raise UserError("--ssh is empty (an unset shell variable?); give user@host, or drop --ssh to profile here.")
    if target.startswith("-") or any(c.isspace() for c in target):
        raise UserError(f"--ssh '{target}' is not a valid ssh destination; give user@host (options go in --ssh-opt).")


def run_remote(
    target: str,
    remote_cmd: str,
    args: list[str],
    ssh_opts: list[str],
    echo: Callable[[str], None] = lambda _: None,
    stdin: str = "",
) -> dict[str, Any]:
    """Run ``<remote_cmd> profile ARGS --json`` on ``target``, with ``stdin`` as its standard input; its JSON
    result. The remote stderr (notes, progress) goes to ``echo`` line by line as it arrives: a remote profile
    takes minutes. Ctrl-C here stops the remote profile too (sshd does not pass it on without a terminal):
    it is sent SIGINT, so it saves its partial table as a local one would."""
    check_target(target)
    command = f"{remote_cmd} profile {' '.join(shlex.quote(a) for a in args)} --json"
    with subprocess.Popen(
        ["ssh", "-o", "BatchMode=yes", *_opts(ssh_opts), target, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        proc.stdin.write(stdin)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        stderr: list[str] = []
        remote_pid: list[str] = []

        def tee() -> None:
            for line in proc.stderr:  # type: ignore[union-attr]
                stderr.append(line)
                echo(line)
                if not remote_pid and (found := _PID_LINE.search(line)):
                    remote_pid.append(found.group(1))

        reader = threading.Thread(target=tee, daemon=True)
        reader.start()
        try:
            stdout = proc.stdout.read()  # type: ignore[union-attr]
            proc.wait()
        except KeyboardInterrupt:
            if remote_pid:
                _interrupt_remote(target, remote_pid[0], ssh_opts)
            raise
        reader.join()
    text = "".join(stderr).strip()
    last_line = text.splitlines()[-1] if text else f"exit {proc.returncode}"
    if proc.returncode == 255:
        raise UserError(
            f"cannot reach '{target}' over ssh ({last_line}). "
            "Check the host, that key-based login works (`ssh user@host true`), and --ssh-opt (e.g. Port=2222)."
        )
    if proc.returncode == 127:
        raise UserError(
            f"'{remote_cmd}' was not found on '{target}'. Install ofa-edge there (pip install ofa-edge) "
            "or pass --remote-cmd with the command that runs it (e.g. 'python3 -m ofa_edge')."
        )
    if proc.returncode != 0:
        raise UserError(f"the remote profile on '{target}' failed (exit {proc.returncode}): {last_line}")
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        raise UserError(
            f"the remote ofa-edge on '{target}' did not print a JSON result; is it an ofa-edge install?"
        ) from None


def _interrupt_remote(target: str, pid: str, ssh_opts: list[str]) -> None:
    """Send SIGINT to the remote profile ``pid`` (best effort: the connection may be gone)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["ssh", "-o", "BatchMode=yes", *_opts(ssh_opts), target, f"kill -INT {pid}"],
            capture_output=True,
            timeout=20,
            check=False,
        )


def fetch(target: str, remote_path: str, local_path: Path, ssh_opts: list[str]) -> None:
    """``scp target:remote_path local_path``, atomically."""

    def copy(tmp: Path) -> None:
        proc = subprocess.run(
            ["scp", "-q", "-o", "BatchMode=yes", *_opts(ssh_opts), f"{target}:{remote_path}", str(tmp)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise UserError(f"could not copy '{remote_path}' back from '{target}': {proc.stderr.strip()}")

    atomic_write(local_path, copy)


def profile_over_ssh(
    target: str,
    device_yaml: str,
    args: list[str],
    local_path: Path,
    *,
    remote_cmd: str,
    ssh_opts: list[str],
    echo: Callable[[str], None] = lambda _: None,
) -> tuple[LatencyTable, dict[str, Any], Path]:
    """Profile the device ``device_yaml`` describes (``Device.to_yaml``, read there from stdin:
    ``--device -``) remotely with ``args``, copy the table (and reports) back to ``local_path``; a partial
    table goes beside a complete one there instead (:func:`~ofa_edge.latency.profiler.remeasure_path`).
    Returns the table, the remote result and where the table was saved."""
    with lock_table(local_path):  # one profile writes a table at a time, here as on the remote
        remote_path = f"{REMOTE_DIR}/{local_path.name}"
        result = run_remote(
            target, remote_cmd, ["--device", "-", *args, "--output", remote_path], ssh_opts, echo, device_yaml
        )
        remote_file = result.get("partial") or result.get("table", remote_path)  # a cut-off --force run's own file
        fetched = local_path.with_name(f".{local_path.name}.fetched")
        fetch(target, remote_file, fetched, ssh_opts)
        table = LatencyTable.load(fetched, require_complete=False)
        fetched.unlink()
        saved = remeasure_path(local_path) if not table.complete and _complete(local_path) else local_path
        table.provenance["fetched"] = {"via": f"ssh {target}", "remote_path": remote_file, "date": now_utc()}
        table.save(saved)
        for kind in ("report", "plot"):
            report = (result.get("reports") or {}).get(kind)
            if report:
                fetch(target, report, reports_dir(local_path) / Path(report).name, ssh_opts)
        return table, result, saved


def _complete(path: Path) -> bool:
    """Whether ``path`` holds a complete table (one a partial fetch must not replace)."""
    try:
        return path.is_file() and LatencyTable.load(path, require_complete=False).complete
    except UserError:
        return False
