"""``ofa-edge prune``: OTO one-shot structured pruning of a subnet (HSPG or HESSO)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, SeedOpt, data_arg, data_help, emit, err, note, out, subnet_arg, warn
from ofa_edge.errors import Interrupted, UserError, refuse_options
from ofa_edge.latency.device_timer import drift_warning
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import work_dir
from ofa_edge.space import SubnetConfig
from ofa_edge.units import check_range

if TYPE_CHECKING:
    from ofa_edge.export.last_search import LastSearch
    from ofa_edge.prune.run import PruneSettings


def prune(
    target_sparsity: Annotated[float, typer.Option(help="Fraction of zero-invariant groups to remove, in (0, 1).")],
    subnet: Annotated[
        Path | None,
        typer.Option(
            help="Subnet JSON (ofa-edge or once-for-all arch dict), a search output folder, or the id of one of the "
            "last search's top-k (default: its chosen subnet)."
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="hesso (target-driven) or hspg (group-lasso + half-space).")] = "hesso",
    epochs: Annotated[int, typer.Option(help="Training epochs while pruning.")] = 10,
    supernet: Annotated[
        Path | None,
        typer.Option(
            help="Supernet checkpoint (default: the search's, or the one the subnet's bundle was exported from, else "
            "the embedded pretrained one)."
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help=data_help("to train, prune and evaluate on", shipped_sample=True)),
    ] = None,
    limit_train: Annotated[
        int | None, typer.Option(help="Train on a seeded random subset of N training images (default: all).")
    ] = None,
    limit_test: Annotated[
        int | None,
        typer.Option(help="Evaluate on a seeded random subset of N test images (more than the split holds: all)."),
    ] = 2000,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine schedule).")] = 0.05,
    lam: Annotated[float, typer.Option(help="HSPG group-lasso weight lambda, >= 0.")] = 1e-3,
    epsilon: Annotated[float, typer.Option(help="HSPG half-space epsilon in [0, 1).")] = 0.0,
    periods: Annotated[int, typer.Option(help="HESSO pruning periods.")] = 5,
    start_frac: Annotated[
        float, typer.Option(help="HESSO warm-up before pruning, as a fraction of all steps, in [0, 1).")
    ] = 0.1,
    prune_frac: Annotated[
        float,
        typer.Option(help="HESSO pruning window, as a fraction of all steps, in (0, 1]; with --start-frac, <= 1."),
    ] = 0.5,
    prox_frac: Annotated[float, typer.Option(help="HSPG proximal phase, as a fraction of all steps, in [0, 1).")] = 0.5,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: <work dir>/prune/<subnet>-<id>-<method>-s<target>)."),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="Device whose latency table predicts the pruned net's latency (default: the first device of the "
            "search that chose the subnet, else x86-cpu)."
        ),
    ] = None,
    table_path: Annotated[
        Path | None,
        typer.Option(
            "--table", metavar="PATH", help="Latency table JSON that predicts it instead (not with --device)."
        ),
    ] = None,
    keep_checkpoint: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoint",
            help="Keep the resume checkpoint (checkpoint.safetensors) once the run completes: running the same "
            "command again then re-slims and re-measures without training.",
        ),
    ] = False,
    ckpt_every: Annotated[
        int,
        typer.Option(
            help="Also checkpoint every N training steps inside an epoch (0: only at epoch ends); a killed run then "
            "resumes at its last such step."
        ),
    ] = 0,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train and prune a subnet (default: the last search's) in one shot; write the slim network (safetensors +
    JSON + ONNX)."""
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.prune.run import PruneSettings, ignored_options
    from ofa_edge.supernet.bn_calibration import few_images_warning

    method = method.lower()
    settings = PruneSettings(
        method=method,
        target_sparsity=target_sparsity,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        lam=lam,
        epsilon=epsilon,
        periods=periods,
        start_frac=start_frac,
        prune_frac=prune_frac,
        prox_frac=prox_frac,
        seed=seed,
    )
    check_range("--limit-train", limit_train, ge=1, hint="(omit it to train on all images)")
    if limit_train is not None and (message := few_images_warning(limit_train, "--limit-train")) is not None:
        warn(message)  # the unpruned subnet's BN is recalibrated on the training images: its "before" top-1 too
    check_range("--limit-test", limit_test, ge=1)
    check_range("--ckpt-every", ckpt_every, ge=0)
    for other, flags in ignored_options(settings).items():
        refuse_options(
            flags,
            f"{{given}} {{is}} for --method {other}; --method {method} would ignore {{them}}. "
            f"Drop {{given}}, or use --method {other}.",
        )
    refuse_options(
        ["--device", "--table"] if device is not None and table_path is not None else [],
        "{given} both name the latency table; pass --table PATH, or --device NAME for that device's table.",
    )
    file = subnet if subnet is None else subnet_arg(subnet)
    inputs = resolve_inputs(file, supernet)  # as export takes them: a file, a top-k id or the last search's
    for line in inputs.notes:
        note(line)
    cfg, ckpt = inputs.subnet, inputs.supernet
    from ofa_edge.prune.pipeline import check_prune_inputs, default_out_name, prune_subnet
    from ofa_edge.supernet.metadata import read_metadata

    if out_dir is None:
        stem = file.stem if file is not None and file.exists() else "subnet"  # a search's own is its subnet.json
        out_dir = work_dir() / "prune" / default_out_name(stem, cfg, settings)
        note(f"output folder: {out_dir}")
    data = data_arg(data, inputs.classes, {"--limit-train": limit_train or 0})
    meta = read_metadata(ckpt)  # once: the checks here and the run take it
    out_dir = check_prune_inputs(cfg, meta, out_dir, data)  # before any work (prune_subnet checks again)
    table = _latency_table(device, table_path, cfg, inputs.last_search)
    note(f"settings: {settings.describe()}")
    with Progress(
        TextColumn("prune"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("", total=None)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"loss {loss:.3f}")

        try:
            result = prune_subnet(
                cfg,
                ckpt,
                data,
                out_dir,
                settings,
                limit_train,
                limit_test,
                table,
                log=note,
                on_step=on_step,
                keep_checkpoint=keep_checkpoint,
                ckpt_every=ckpt_every,
                metadata=meta,
            )
        except KeyboardInterrupt:
            raise Interrupted(_interrupted(out_dir, settings, cfg)) from None
    for message in (_shortfall(result), _accuracy_drop(result)):
        if message is not None:
            warn(message)
    lat = result["device_latency"]
    if lat and lat["unaligned_depthwise"]:
        from ofa_edge.prune.slim import CHANNEL_MULTIPLE

        warn(
            f"{lat['unaligned_depthwise']} depthwise layers of the pruned net have channel counts that are not "
            f"multiples of {CHANNEL_MULTIPLE}; ONNX Runtime's CPU kernel runs those ~7x slower (measured on x86), which the "
            "predicted latency does not include."
        )
    emit(result, as_json, lambda: _render(result))


def _interrupted(out_dir: Path, settings: PruneSettings, cfg: SubnetConfig) -> str:
    """What a Ctrl-C of a prune run left in ``out_dir``: a checkpoint the same command resumes from, one of another
    run (other settings or subnet) that it does not, or none; and the results of an earlier run there, untouched."""
    from ofa_edge.prune.pipeline import CHECKPOINT
    from ofa_edge.prune.run import resumes

    ckpt = out_dir / CHECKPOINT
    earlier = f" The results already in '{out_dir}' are as they were." if (out_dir / "result.json").is_file() else ""
    if resumes(ckpt, settings, cfg.to_dict()):
        return (
            f"interrupted; running the same command again resumes from the checkpoint in '{out_dir}' (written after "
            f"every epoch, and every --ckpt-every N steps).{earlier}"
        )
    other = (
        f" (the checkpoint in '{out_dir}' is another run's, with other settings or subnet; it is replaced when this "
        "one checkpoints)"
        if ckpt.is_file()
        else ""
    )
    return (
        "interrupted before the first checkpoint (after epoch 1, or --ckpt-every N steps): nothing of this run was "
        f"kept{other}, and running the same command again starts afresh.{earlier}"
    )


# A pruned network this many points below the unpruned subnet has not recovered: said, with the fix.
DROP_PT = 10.0


def _accuracy_drop(r: dict[str, Any]) -> str | None:
    """The warning for a pruned network that lost :data:`DROP_PT` points of top-1 or more: too little training
    (a first try with --epochs 1 on 256 images lost 73 points and said nothing)."""
    drop = r["before"]["top1"] - r["after"]["top1"]
    if drop < DROP_PT:
        return None
    epochs, images = r["settings"]["epochs"], r["data"]["train_images"]
    return (
        f"the pruned network scores {r['after']['top1']:.1f}% against the unpruned subnet's {r['before']['top1']:.1f}% "
        f"(-{drop:.1f} pt) after {epochs} epoch(s) on {images:,} training images: pruning recovers accuracy by "
        "training; give it more --epochs (default 10) and images (drop --limit-train)."
    )


def _shortfall(r: dict[str, Any]) -> str | None:
    """The warning for a run that removed fewer groups than its target asks (``int(target * groups)``)."""
    if r["zero_groups"] >= int(r["target_sparsity"] * r["groups"]):
        return None
    fix = (
        "raise --lam or --epochs."
        if r["method"] == "hspg"
        else "every channel space keeps one channel, so no more groups can go; lower --target-sparsity."
    )
    return (
        f"reached group sparsity {r['zero_groups'] / r['groups']:.3f} ({r['zero_groups']} of {r['groups']} groups) "
        f"< target {r['target_sparsity']:g}; {fix}"
    )


def _latency_table(
    device: str | None, table_path: Path | None, subnet: SubnetConfig, searched: LastSearch | None
) -> LatencyTable | None:
    """The table that predicts latency: ``--table``, or ``--device``'s (exit 2 if it has none or either does
    not cover the subnet), else the default's when it covers the subnet: the table of the search that chose
    the subnet (its first device, as export follows it), else this machine's."""
    from ofa_edge.latency.devices import LOCAL_DEVICE
    from ofa_edge.latency.table import table_for_device
    from ofa_edge.latency.table_check import table_warnings
    from ofa_edge.prune.predict import coverage_gap

    if table_path is not None:
        table, path = LatencyTable.load(table_path), table_path
        device = table.device
    elif device is not None:
        table, path = table_for_device(device)
    else:
        name, why = LOCAL_DEVICE, "default"
        if searched is not None and searched.device:
            name, why = searched.device, "the device of the search that chose the subnet"
        note(f"device: {name} ({why}; pass --device NAME for another)")
        searched_table = searched.tables.get(name) if searched else None
        try:
            if searched_table is not None and searched_table.is_file():  # the table the search used (its --table too)
                table, path = LatencyTable.load(searched_table, device=name), searched_table
            else:
                table, path = table_for_device(name)
        except UserError as e:
            warn(f"no latency prediction: {e}")
            return None
    if gap := coverage_gap(table, subnet):
        if device is not None:
            option = "--table" if table_path is not None else "--device"
            raise UserError(f"{gap}; pass {option} with a table for that space and resolution, or profile one.")
        warn(f"no latency prediction: {gap}.")
        return None
    note(f"latency table: {path} ({table.device}, {table.kind})")
    for message in table_warnings(table.device, table, path):  # only for a table that will predict
        warn(message)
    return table


def _render(r: dict[str, Any]) -> None:
    t = Table(title=f"ofa-edge prune ({r['method']}, {r['zero_groups']}/{r['groups']} groups removed)")
    scored = f"top-1 ({r['data']['test_images']} {r['data']['test_split']})"
    for col in ("", scored, "MACs", "params", "ORT CPU time (b1, 1 thread)"):
        t.add_column(col)
    for name in ("before", "after"):
        m = r[name]
        lat = m["latency_ort_cpu"]
        t.add_row(
            name,
            f"{m['top1']:.2f}%",
            f"{m['macs'] / 1e6:.2f}M",
            f"{m['params'] / 1e6:.3f}M",
            f"{lat['median_ms']:.3f} ms",
        )
    t.add_row(*_change_row(r["before"], r["after"]), style="bold")
    out.print(t)
    out.print(
        f"group sparsity {r['group_sparsity']:.3f} (target {r['target_sparsity']}); "
        f"slim vs group-sparse max |diff| {r['slim_max_abs_diff']:.2e}; ONNX vs torch {r['onnx_max_abs_diff']:.2e}"
    )
    if r["device_latency"]:
        d = r["device_latency"]
        out.print(_latency_table_view(d))
        measured = "pruned_measured_ms" in d
        if measured and (drift := drift_warning(d["speed_factor"], d["pruned_measured_ms"], d["same_cpu"])):
            out.print(f"[yellow]{drift}[/yellow] (for the pruned network)")
    out.print(_files_line(r))
    out.print(
        f"next: ofa-edge eval --slim {r['out_dir']}  (top-1 on the whole {r['data']['test_split']} split); "
        f"ofa-edge export --slim {r['out_dir']} --format onnx",
        soft_wrap=True,
    )


def _change_row(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What pruning changed: top-1 in points, MACs and params in percent, latency as a speed-up."""
    speedup = before["latency_ort_cpu"]["median_ms"] / after["latency_ort_cpu"]["median_ms"]
    return [
        "change",
        f"{after['top1'] - before['top1']:+.2f} pt",
        f"{100 * (after['macs'] / before['macs'] - 1):+.1f}%",
        f"{100 * (after['params'] / before['params'] - 1):+.1f}%",
        f"{speedup:.2f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower",
    ]


def _files_line(r: dict[str, Any]) -> str:
    """What the run wrote, and where its resume checkpoint went."""
    from ofa_edge.prune.pipeline import CHECKPOINT

    if CHECKPOINT in r["files"]:
        return f"wrote {r['out_dir']}: {', '.join(r['files'])} (resume state, kept)"
    return (
        f"wrote {r['out_dir']}: {', '.join(r['files'])} (the resume checkpoint is removed; --keep-checkpoint keeps it)"
    )


def _latency_table_view(d: dict[str, Any]) -> Table:
    """Predicted (and, on this machine, measured) latency of the unpruned and pruned nets."""
    kind = "estimated" if d["estimated_table"] else "measured"
    t = Table(title=f"latency on {d['device']} (batch 1, {kind} table)", caption=f"pruned widths: {d['width_model']}")
    measured = "pruned_measured_ms" in d
    for col in ("", "predicted", *(("measured (table's scale)", "error") if measured else ())):
        t.add_column(col)
    for name, label in (("subnet", "before (unpruned subnet)"), ("pruned", "after (pruned)")):
        row = [label, f"{d[f'{name}_ms']:.3f} ms"]
        if measured:
            row += [f"{d[f'{name}_measured_ms']:.3f} ms", f"{d[f'{name}_error_pct']:+.1f}%"]
        t.add_row(*row)
    return t


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
