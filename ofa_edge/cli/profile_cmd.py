"""``ofa-edge profile``: measure (or estimate) a device's latency table, calibrate, validate."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ofa_edge.cli.common import JsonOpt, emit, err, note, out, seed_option, warn
from ofa_edge.cli.profile_render import render_check, render_estimate, render_measured
from ofa_edge.errors import UserError, refuse_options
from ofa_edge.host import load_average
from ofa_edge.io import check_work_dir
from ofa_edge.latency.backends import require_backend
from ofa_edge.latency.calibrate import MIN_SAMPLES, loose_fit_warning, uncorrected_warning
from ofa_edge.latency.devices import (
    LOCAL_DEVICE,
    Device,
    device_from_text,
    find_device_file,
    find_table_path,
    is_device_path,
    is_own_table,
    load_device,
    table_path,
)
from ofa_edge.latency.drift import correction_fitted_elsewhere, is_busy
from ofa_edge.latency.e2e import PASSES, e2e_path
from ofa_edge.latency.estimate import default_reference, estimate_device_table
from ofa_edge.latency.last_profile import remember_profile
from ofa_edge.latency.profiler import (
    Profiling,
    ShippedTable,
    shipped_differences,
    shipped_to_continue,
    start_profile,
)
from ofa_edge.latency.ssh import PID_NOTE, check_target, profile_over_ssh
from ofa_edge.latency.table import LatencyTable
from ofa_edge.latency.table_check import check_table
from ofa_edge.latency.validate import write_reports
from ofa_edge.paths import is_shipped_table
from ofa_edge.space import SearchSpace
from ofa_edge.units import check_range

SeedOpt = seed_option("Random seed of the --calibrate and --validate subnets: the same seed, the same subnets")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )


def _resolutions(text: str, space: SearchSpace, device: Device) -> list[int]:
    if not text:
        return list(device.resolutions) if device.space == space.name else list(space.resolutions)
    try:
        res = sorted({int(r) for r in text.split(",")})
    except ValueError:
        raise UserError(f"--resolutions '{text}' must be comma-separated integers, e.g. 24,28,32.") from None
    bad = [r for r in res if r not in space.resolutions]
    if bad:
        raise UserError(f"--resolutions: {space.not_in_space('resolution', bad)}; pick from those, or leave it out.")
    return res


def _given(flags: tuple[tuple[str, object], ...]) -> list[str]:
    """The option names in ``flags`` whose value says they were given (truthy)."""
    return [flag for flag, value in flags if value]


def _refuse_foreign_default(device: str, dev: Device, default: Path, output: Path | None, force: bool) -> None:
    """Refuse a device file that reuses a known device's name when the table would be that device's
    default one (``<name>.json`` in your tables): it would overwrite or resume it."""
    known = find_device_file(dev.name)
    if output is not None or force or known is None or not (device == "-" or is_device_path(device)):
        return
    if device != "-" and Path(device).resolve() == known.resolve():
        return
    raise UserError(
        f"device file '{device}' is named '{dev.name}', the name of the device {known}, so its table "
        f"would go to that device's own {default} and replace or mix with it. Give it another `name:` "
        f"in '{device}', or write its table elsewhere with --out PATH (--force replaces that table)."
    )


def _refuse_hiding_a_measured_table(dev: Device, space: str, output: Path | None, force: bool) -> None:
    """``--estimate`` into your folder would hide the shipped measured table of ``dev`` from search."""
    found = find_table_path(dev, space)
    if output is not None or force or found == table_path(dev, space) or not found.is_file():
        return
    if not LatencyTable.load(found, require_complete=False).estimated:
        raise UserError(
            f"{dev.name} has a measured table, {found}; an estimate in your folder would replace it for search. "
            "Write the estimate elsewhere with --out PATH, or pass --force to use an estimate instead."
        )


def profile(
    device: Annotated[
        str,
        typer.Option(
            "--device",
            "-d",
            help="Device name (your <name>.yaml, else the shipped one), a YAML path, or - to read the YAML from stdin.",
        ),
    ] = LOCAL_DEVICE,
    space: Annotated[str, typer.Option(help="Search space (default: the device's).")] = "",
    resolutions: Annotated[str, typer.Option(help="Comma-separated resolutions (default: the device's).")] = "",
    classes: Annotated[int | None, typer.Option(help="Classifier outputs (default: the space's).")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", "--out", help="Table file (default: <device>.json in your tables folder)."),
    ] = None,
    warmup: Annotated[int | None, typer.Option(help="Untimed runs per network (default: the device's).")] = None,
    repeats: Annotated[int | None, typer.Option(help="Timed runs per network (default: the device's).")] = None,
    threads: Annotated[int | None, typer.Option(help="Runtime threads (default: the device's).")] = None,
    max_entries: Annotated[
        int, typer.Option(help="Measure at most this many new entries, then stop (resume later); 0: all.")
    ] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Re-measure from scratch even if a table exists (--rescale: even on a busy machine)."
        ),
    ] = False,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="Estimate the table from datasheet figures (unreachable devices).")
    ] = False,
    reference: Annotated[
        str,
        typer.Option(
            help="Measured table (device name or path) the estimate model is fitted on (default: h100 for GPU runtimes, x86-cpu otherwise)."
        ),
    ] = "",
    calibrate: Annotated[int, typer.Option(help="Fit the end-to-end correction on N random subnets.")] = 0,
    validate: Annotated[int, typer.Option(help="Validate on N random subnets timed end to end.")] = 0,
    docs_dir: Annotated[Path | None, typer.Option(help="Also write the validation summary (Markdown) here.")] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Measure nothing but the table's speed-reference subnets: does the table still hold on this "
            "machine now (load, clocks, another host)?",
        ),
    ] = False,
    rescale_table: Annotated[
        bool,
        typer.Option(
            "--rescale",
            help="As --check, then put the table on this machine's speed now (every latency times the factor; "
            "provenance records it): 10 s instead of a new profile.",
        ),
    ] = False,
    ssh: Annotated[
        str | None, typer.Option("--ssh", help="Profile on user@host over ssh and copy the table back.")
    ] = None,
    ssh_opt: Annotated[
        list[str] | None, typer.Option("--ssh-opt", help="ssh/scp -o option, e.g. Port=2222 (repeatable).")
    ] = None,
    remote_cmd: Annotated[str, typer.Option(help="Command that runs ofa-edge on the remote host.")] = "ofa-edge",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Measure a device's latency table (resumable), or estimate it; optionally calibrate and validate."""
    if ssh is not None:
        check_target(ssh)  # `--ssh "$UNSET"` must not profile here instead
    remote_only = [f for f, on in (("--ssh-opt", bool(ssh_opt)), ("--remote-cmd", remote_cmd != "ofa-edge")) if on]
    if ssh is None and remote_only:
        raise UserError(
            f"{' and '.join(remote_only)} configure profiling over ssh, but no --ssh user@host was given, so this "
            f"would profile here. Add --ssh user@host, or drop {' and '.join(remote_only)}."
        )
    if device == "-" and ssh is not None:
        raise UserError("--device - reads the device from stdin, which --ssh needs for itself; give its file.")
    if device == "-" and sys.stdin.isatty():
        raise UserError("--device - reads a device file from stdin, and none is piped in (e.g. < my-board.yaml).")
    dev = device_from_text(sys.stdin.read()) if device == "-" else load_device(device)
    if device == "-":  # the remote run of --ssh: the machine that started it stops it by this id on Ctrl-C
        note(f"{PID_NOTE} {os.getpid()}")
    sp = SearchSpace.get(space or dev.space)
    if not (check and not rescale_table):  # everything but --check writes the table
        _refuse_foreign_default(device, dev, table_path(dev, sp.name), output, force)
    res = _resolutions(resolutions, sp, dev)
    for flag, value, low in (
        ("--calibrate", calibrate, 0), ("--validate", validate, 0), ("--max-entries", max_entries, 0),
        ("--warmup", warmup, 0), ("--repeats", repeats, 1), ("--threads", threads, 1), ("--classes", classes, 1),
    ):  # fmt: skip
        check_range(flag, value, ge=low)
    if 0 < calibrate < MIN_SAMPLES:
        raise UserError(f"--calibrate needs at least {MIN_SAMPLES} subnets to fit a correction, got {calibrate}.")
    threads_flag = threads
    timing = (("--warmup", warmup is not None), ("--repeats", repeats is not None), ("--threads", threads is not None))
    classes = classes or sp.default_num_classes
    path = (output or table_path(dev, sp.name)).absolute()  # what profile writes
    read = (output or find_table_path(dev, sp.name)).absolute()  # what --check and --rescale read
    if not (check and not rescale_table) and is_shipped_table(path):
        raise UserError(
            f"'{path}' is a table shipped inside the package, which is never written; drop -o to write yours "
            f"({table_path(dev, sp.name)}, read before the shipped one), or give -o another file."
        )
    warmup = dev.warmup if warmup is None else warmup
    repeats = repeats or dev.repeats
    threads = threads or dev.threads
    note(f"device {dev.name} ({dev.backend_name}, {dev.precision}, {threads} thread(s), batch {dev.batch})")
    table_note = f"table {read if check or rescale_table else path}"
    if rescale_table and read != path:
        table_note += f", rescaled into {path}"
    note(f"space {sp.name}, resolutions {res}, {classes} classes; {table_note}")

    measuring = (("--calibrate", calibrate), ("--validate", validate), ("--max-entries", max_entries))
    if estimate and not (check or rescale_table):
        refuse_options(
            _given((*measuring, *timing, ("--ssh", ssh is not None))),
            "{given} measure{s}; --estimate measures nothing: drop {them} or drop --estimate.",
        )
    if check or rescale_table:
        mode = "--rescale" if rescale_table else "--check"
        refuse_options(
            _given(
                (
                    ("--ssh", ssh is not None),
                    ("--estimate", estimate),
                    ("--force", force and not rescale_table),
                    *measuring,
                )
            ),
            f"{mode} only times the table's speed reference; drop {{given}} "
            f"(for a remote board run it there: ssh user@host ofa-edge profile {mode}).",
        )
        _check(dev, read, threads_flag, path if rescale_table else None, busy_ok=force, as_json=as_json)
        if rescale_table:  # --check writes nothing
            remember_profile(dev.name, path)
        return
    if device != "-":  # the table is noted in the work folder at the end (for --ssh, by the machine that started it)
        check_work_dir()  # now, not after an hour of measuring
    if ssh is not None:
        settings = {
            "--space": sp.name, "--resolutions": ",".join(map(str, res)), "--classes": classes, "--warmup": warmup,
            "--repeats": repeats, "--threads": threads, "--seed": seed, "--calibrate": calibrate,
            "--validate": validate, "--max-entries": max_entries or None,
        }  # fmt: skip
        args = [a for flag, v in settings.items() if v is not None for a in (flag, str(v))] + ["--force"] * force
        _over_ssh(ssh, ssh_opt or [], remote_cmd, dev, path, args, as_json)
        remember_profile(dev.name, path)
        return
    if estimate:
        _estimate(dev, sp.name, res, classes, path, reference, output=output, force=force, as_json=as_json)
        remember_profile(dev.name, path)
        return

    backend = require_backend(dev, threads)
    note(f"backend {backend.name} {backend.version()}; warmup {warmup}, repeats {repeats}; clock {backend.clock_name}")
    # -o and --force measure a table of their own; else the shipped measured one goes on into yours
    shipped = None if output is not None or force else shipped_to_continue(dev, sp.name)
    with err.status("opening the table and its speed reference"):
        job = start_profile(
            dev, backend, path, space=sp.name, resolutions=res, num_classes=classes, warmup=warmup,
            repeats=repeats, threads=threads, force=force, shipped=shipped,
        )  # fmt: skip
    with job:  # holds the table's lock to the end (another profile of it is refused meanwhile)
        _measure(
            job, shipped, max_entries=max_entries, calibrate=calibrate,
            validate=validate, seed=seed, docs_dir=docs_dir, hints=device != "-", as_json=as_json,
        )  # fmt: skip
    if device != "-":  # not in the remote run of --ssh: the machine that started it notes the table it fetches
        remember_profile(dev.name, path)  # search's default device from now on


def _check(
    dev: Device, read: Path, threads: int | None, rescale_to: Path | None, *, busy_ok: bool, as_json: bool
) -> None:
    """``--check``: time the table's speed reference here; ``--rescale``: then write it rescaled to ``rescale_to``."""
    result = check_table(dev, read, threads, rescale_to=rescale_to, status=err.status, warn=warn, busy_ok=busy_ok)
    emit(result, as_json, lambda: render_check(result))


def _over_ssh(
    ssh: str, ssh_opts: list[str], remote_cmd: str, dev: Device, path: Path, args: list[str], as_json: bool
) -> None:
    """``--ssh``: run ``remote_cmd profile`` with ``args`` on the host and keep its table at ``path``
    (or, partial, beside a complete one there)."""
    note(f"profiling on {ssh} via `{remote_cmd} profile`")
    table, remote, saved = profile_over_ssh(
        ssh,
        dev.to_yaml(),
        args,
        path,
        remote_cmd=remote_cmd,
        ssh_opts=ssh_opts,
        echo=lambda line: err.out(line, end=""),
    )
    if saved != path:
        note(f"the table from {ssh} is partial: kept beside your complete {path}; run the same command again")
    elif (message := uncorrected_warning(dev.name, table, path)) is not None:
        warn(message)  # here, with this machine's paths (the remote one skips its own)
    result = {
        **remote,
        "table": str(saved),
        "remote_table": remote.get("partial") or remote.get("table"),
        "via_ssh": ssh,
        "provenance": table.provenance,
    }
    summary = (
        f"table from {ssh} saved to [bold]{saved}[/bold] ({len(table.entries)} entries, complete={table.complete})"
    )
    emit(result, as_json, lambda: out.print(summary))


def _estimate(
    dev: Device, space: str, res: list[int], classes: int, path: Path, reference: str, *, output: Path | None,
    force: bool, as_json: bool,
) -> None:  # fmt: skip
    """``--estimate``: the table from datasheet figures, fitted on the ``reference`` table (default: the runtime's)."""
    note("estimating from datasheet figures (kind=estimated); measure on the device for real numbers")
    if not reference:
        reference = default_reference(dev)
        note(f"--reference: {reference} (default for runtime {dev.runtime})")
    _refuse_hiding_a_measured_table(dev, space, output, force)
    result = estimate_device_table(dev, space, res, classes, path, reference, force, note=note)
    emit(result, as_json, lambda: render_estimate(result))


def _note_where(job: Profiling, shipped: ShippedTable | None) -> None:
    """Say which table ``job`` goes on with (the ``shipped`` one, a cut-off ``--force`` run's) and where it is saved."""
    dev, path = job.device, job.path
    if job.continued is not None:
        note(
            f"you have no {dev.name} table yet: continuing the shipped {job.continued} into {path} (it stays as it is)"
        )
    elif shipped is not None:
        why = "; ".join(shipped_differences(shipped, job.table))
        note(
            f"the shipped {shipped.path.name} was measured on another machine or with other settings ({why}): measuring yours"
        )
    if job.staging is not None:
        going_on = f"; continuing its {len(job.table.entries)} entries" if job.table.entries else ""
        if job.restarted is not None:
            going_on = f"; a cut-off --force run's table there is not continued, measuring afresh ({job.restarted})"
        note(f"--force: measuring into {job.staging}{going_on}; {path} stays as it is until the new table is complete")


def _measure(
    job: Profiling,
    shipped: ShippedTable | None,
    *,
    max_entries: int,
    calibrate: int,
    validate: int,
    seed: int,
    docs_dir: Path | None,
    hints: bool,
    as_json: bool,
) -> None:
    """Fill ``job``'s table, then fit its correction and validate it when asked (``calibrate``, ``validate``
    subnets), and emit the result. ``hints``: warnings that name this machine's paths (not in ``--ssh``'s
    remote run)."""
    dev, path = job.device, job.path
    _note_where(job, shipped)
    if is_busy(load := load_average()):
        warn(
            f"this machine is busy (1-minute load {load:.1f} on {os.cpu_count()} cores): other processes slow and "
            "scatter the timings; the speed reference rescales the slowdown, not the scatter. Profile when it is "
            "quiet for the best table (an interrupted profile goes on where it stopped)."
        )
    with _progress() as bar:
        task = bar.add_task(f"profiling {dev.name}", total=None)
        table = job.fill(
            max_entries or None,
            on_entry=lambda done, total, key: bar.update(
                task, completed=done, total=total, description=key[:40] or f"profiling {dev.name}"
            ),
        )
    result: dict[str, Any] = {
        "table": str(path),
        "device": dev.name,
        "kind": "measured",
        "complete": table.complete,
        "entries": len(table.entries),
        "missing": len(table.missing_keys()),
        "provenance": table.provenance,
    }
    if not table.complete:
        warn(f"table is partial ({result['missing']} entries missing); run the same command again to continue.")
        saved = job.staging or path
        result["partial"] = str(saved)
        emit(result, as_json, lambda: out.print(f"partial table saved to [bold]{saved}[/bold]"))
        return
    report = None
    if calibrate or validate:
        n = calibrate + validate
        with _progress() as bar:
            task = bar.add_task(f"timing {n} subnets end to end, {PASSES} passes", total=PASSES * n)
            report = job.calibrate_and_validate(
                calibrate, validate, seed, on_done=lambda i: bar.update(task, completed=i)
            )
    result["correction"] = table.correction
    if (elsewhere := correction_fitted_elsewhere(table)) is not None:
        result["correction_fitted_on"] = elsewhere
    if hints and calibrate and (message := loose_fit_warning(table.correction, e2e_path(path))) is not None:
        warn(message)
    if hints and (message := uncorrected_warning(dev.name, table, path)) is not None:
        warn(message)
    if not is_own_table(dev, path, table.space):  # not where search looks for the device's table
        result["search_with"] = f"ofa-edge search --table {path} --latency ..."
    if report is not None:
        command = f"ofa-edge profile --device {dev.name} --calibrate {calibrate} --validate {validate} --seed {seed}"
        result["reports"] = write_reports(report, path, docs_dir, command)
        result["validation"] = {"lut": report["lut"], "corrected": report["corrected"]}
    emit(result, as_json, lambda: render_measured(result))


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
