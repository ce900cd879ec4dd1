"""``ofa-edge export``: the chosen subnet as a deploy bundle (ONNX, ORT format, TensorRT)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, data_arg, data_help, emit, err, note, out, subnet_arg, warn
from ofa_edge.errors import Interrupted, UserError
from ofa_edge.export.bundle import MANIFEST, default_bundle_name, replaced_bundle_note
from ofa_edge.export.formats import FORMATS, get_format
from ofa_edge.export.request import (
    DEFAULT_MAX_BATCH,
    INT8_CALIB_IMAGES,
    INT8_EVAL_IMAGES,
    MAX_OPSET,
    MIN_OPSET,
    ExportRequest,
    check_options,
    few_calib_images_warning,
    image_counts,
    many_calib_images_note,
)
from ofa_edge.latency.table import estimated_warning
from ofa_edge.onnx_bridge import OPSET
from ofa_edge.paths import work_dir
from ofa_edge.supernet.bn_calibration import BN_IMAGES

_FORMAT_HELP = "; ".join(f"{f.name} ({', '.join(f.aliases) or 'no alias'}): {f.description}" for f in FORMATS)


def export(
    format: Annotated[str, typer.Option("--format", "-f", help=f"Target format. {_FORMAT_HELP}.")] = "onnx",
    subnet: Annotated[
        Path | None,
        typer.Option(
            help="Subnet JSON (ofa-edge or once-for-all arch dict), a search output folder, or the id of one of the "
            "last search's top-k (default: its chosen subnet)."
        ),
    ] = None,
    slim: Annotated[
        Path | None,
        typer.Option(
            help="A pruned network from `ofa-edge prune`: its slim.json or --out folder (instead of a subnet)."
        ),
    ] = None,
    supernet: Annotated[
        Path | None, typer.Option(help="Supernet checkpoint (default: the search's, else the embedded pretrained one).")
    ] = None,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Write an INT8 (QDQ) model as the deploy file, beside the FP32 one; report its top-1 and CPU latency.",
        ),
    ] = False,
    half: Annotated[
        bool | None,
        typer.Option(
            "--half/--no-half",
            help="FP16 model (onnx, trt). Default: fp32, but an engine follows the searched device's table (fp16 on "
            "Jetson Orin).",
        ),
    ] = None,
    dynamic_batch: Annotated[
        bool,
        typer.Option(
            "--dynamic-batch",
            help="Symbolic batch dimension (default: a fixed batch of 1); an engine's profile takes 1 to --max-batch.",
        ),
    ] = False,
    max_batch: Annotated[
        int | None,
        typer.Option(
            help=f"Largest batch of a TensorRT dynamic-batch profile (with --dynamic-batch; default {DEFAULT_MAX_BATCH})."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Bundle folder (default: <work dir>/export/<space>-r<res>-<id>-<format>; id: subnet + weights).",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help=data_help("for BN recalibration, INT8 calibration and evaluation", shipped_sample=True),
            show_default=False,
        ),
    ] = None,
    bn_images: Annotated[
        int | None, typer.Option(help=f"Training images for BN recalibration (default {BN_IMAGES}; not with --slim).")
    ] = None,
    calib_images: Annotated[
        int | None,
        typer.Option(
            "--int8-calib-images",
            help=f"Training images for INT8 calibration (with --int8; default {INT8_CALIB_IMAGES}).",
        ),
    ] = None,
    eval_images: Annotated[
        int | None,
        typer.Option(
            "--int8-eval-images",
            help=f"Test images for the INT8 top-1 comparison (with --int8; default {INT8_EVAL_IMAGES}).",
        ),
    ] = None,
    opset: Annotated[
        int | None,
        typer.Option(
            help=f"ONNX opset of the models ({MIN_OPSET}-{MAX_OPSET}; default {OPSET}): a lower one for an older "
            "runtime or converter."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a subnet with its weights: extract, recalibrate BN, export, verify, write a bundle folder."""
    # here, not at the top: `ofa-edge export --help` needs none of torch and ONNX
    from ofa_edge.data.formats import split_size
    from ofa_edge.export.inputs import resolve_inputs, slim_inputs
    from ofa_edge.export.pipeline import export_bundle
    from ofa_edge.supernet.bn_calibration import few_images_warning

    fmt = get_format(format)
    options = {"int8": int8, "dynamic_batch": dynamic_batch, "max_batch": max_batch, "bn_images": bn_images,
               "calib_images": calib_images, "eval_images": eval_images, "opset": opset}  # fmt: skip
    check_options(fmt, half=bool(half), slim=slim is not None, **options)  # before any work; the request again
    counts = image_counts(bn_images, calib_images, eval_images)
    if format != fmt.name:
        note(f"format '{format}' is '{fmt.name}'")
    if dynamic_batch and max_batch is None and "max_batch" in fmt.flags:
        note(f"dynamic batch: the engine's profile takes batches of 1 to {DEFAULT_MAX_BATCH} (default; --max-batch N)")
    if slim is not None:
        if subnet is not None or supernet is not None:
            raise UserError("--slim exports a pruned network on its own: drop --subnet and --supernet.")
        inputs = slim_inputs(slim)
    else:
        inputs = resolve_inputs(subnet if subnet is None else subnet_arg(subnet), supernet)
    for line in [*inputs.notes, *inputs.prediction_notes]:
        note(line)
    needs = {} if slim else {"--bn-images": counts.bn}  # images each option takes from the data
    if int8:
        needs |= {"--int8-calib-images": counts.int8_calib, "--int8-eval-images": counts.int8_eval}
    data = data_arg(data, inputs.classes, needs)
    cfg = inputs.subnet
    if out_dir is None:
        name = default_bundle_name(cfg.space, cfg.resolution, cfg.canonical().to_json(), inputs.supernet, fmt.name)
        out_dir = work_dir() / "export" / name
        note(f"no --out: writing the bundle to {out_dir}")
    if (replacing := replaced_bundle_note(out_dir, cfg.to_dict())) is not None:
        note(replacing)
    images = [] if slim else [f"BN recalibration on {counts.bn} train images"]
    if int8:
        images.append(
            f"INT8 calibration on {counts.int8_calib} train images, evaluation on {counts.int8_eval} test images"
        )
    if images:
        note("; ".join(images) + f" ({'each: all' if int8 else 'all'}, if the data holds fewer)")
    available = split_size(data, "train")  # counted, not decoded: the warnings say what the data can give
    if slim is None and (message := few_images_warning(counts.bn, available=available)) is not None:
        warn(message)
    if int8 and (message := few_calib_images_warning(counts.int8_calib, available)) is not None:
        warn(message)
    if int8 and (message := many_calib_images_note(counts.int8_calib, available)) is not None:
        note(message)
    last = inputs.last_search
    tables = last.searched_tables() if last else []
    for message in dict.fromkeys(filter(None, map(estimated_warning, tables))):  # each searched device's, once
        warn(message)
    req = ExportRequest.from_inputs(
        inputs,
        format=fmt,
        out=out_dir,
        data=data,
        half=half,
        bn_cache=work_dir() / "cache" / "bn",
        **options,
    )
    for say, line in ((note, req.precision.note), (warn, req.precision.warning)):
        if line:
            say(line)
    start = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("export", total=None)

        def step(message: str) -> None:
            progress.update(task, description=message)
            if not err.is_terminal:
                note(message)

        try:
            manifest = export_bundle(req, step)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted; export writes its bundle whole or not at all, so '{req.out}' is as it was. Running the "
                "same command again exports afresh (BN statistics already computed come from the cache)."
            ) from None
    result = {"out": str(req.out.expanduser().absolute()), "export_seconds": time.perf_counter() - start, **manifest}
    emit(result, as_json, lambda: _render(result))


def _render(m: dict[str, Any]) -> None:
    t = Table(title=f"ofa-edge export: {m['format']} bundle")  # its path below, unwrapped (copy-pasteable)
    t.add_column("file")
    t.add_column("bytes", justify="right")
    sizes = {name: info["bytes"] for name, info in m["files"].items()}
    sizes[MANIFEST] = (Path(m["out"]) / MANIFEST).stat().st_size  # the manifest lists every file but itself
    for name, size in sorted(sizes.items()):
        t.add_row(name + ("  [bold](deploy)[/bold]" if name == m["primary"] else ""), f"{size:,}")
    out.print(t)
    out.print(f"bundle: {m['out']} (ONNX opset {m['opset']}, exported in {m['export_seconds']:.1f} s)", soft_wrap=True)
    for v in m["verification"]:
        out.print(_verified(v))
    if m["int8"]:
        q = m["int8"]
        out.print(
            f"INT8: top-1 {q['top1_fp32']:.2f}% -> {q['top1_int8']:.2f}% ({q['top1_change_points']:+.2f} pts, "
            f"{q['eval_images']} test images); CPU latency {q['cpu_latency_ms_fp32']:.2f} -> {q['cpu_latency_ms_int8']:.2f} ms"
            f" (ONNX Runtime, {q['threads']} thread(s), wall-clock median, batch 1: not the latency table's timing)"
        )
        if m["format"] in ("onnx", "ort") and q["cpu_speedup"] < 1.1:  # a CPU bundle that INT8 does not speed up
            out.print(
                f"[yellow]INT8 runs at {1 / q['cpu_speedup']:.2f}x FP32's time on this CPU[/yellow]: for x86 CPUs ship "
                "model.onnx (beside it"
                + ("; `--format ort` without --int8 writes model.ort" if m["format"] == "ort" else "")
                + "); INT8 pays on TensorRT and NPUs (`ofa-edge docs export`)."
            )
    if m["tensorrt"]:
        trt = m["tensorrt"]
        if trt["engine_built"]:
            out.print(f"TensorRT {trt['tensorrt_version']} engine built: model.engine ({trt['precision']})")
        else:
            out.print(f"[yellow]TensorRT engine not built here[/yellow]: {trt['engine_missing_reason']}")
            out.print(f"on the target: {trt['build_script']}  (or sh trtexec.sh)")
    if m["predicted"]:
        _render_predicted(m["predicted"])
    if p := m["pruning"]:
        out.print(
            f"pruned ({p['method']}): top-1 {p['top1']:.2f}% on {p['test_images']} {p.get('test_split', 'test')} images "
            f"(unpruned {p['top1_unpruned']:.2f}%), as `ofa-edge prune` measured it"
        )
        if lat := p.get("latency"):  # prune's device table's prediction, before and after
            measured = f" (measured there: {lat['pruned_measured_ms']:.3f} ms)" if "pruned_measured_ms" in lat else ""
            out.print(
                f"pruned, predicted on {lat['device']}: {lat['subnet_ms']:.3f} ms -> {lat['pruned_ms']:.3f} ms{measured}"
            )
    if m["primary"] == "model.engine" and not m["tensorrt"]["engine_built"]:
        return
    out.print(f"deploy file: {m['out']}/{m['primary']}", soft_wrap=True)


def _verified(v: dict[str, Any]) -> str:
    """A verification's line: the largest difference from PyTorch, its bound and what set it, the images and
    batches."""
    batches = " and ".join(map(str, v["batch_sizes"]))
    return (
        f"verified {v['model']} against PyTorch on ONNX Runtime: max |diff| {v['max_abs_diff']:.2e} <= "
        f"{v['tolerance']:.2e} ({v['tolerance_rule']}), {v['inputs']} test images at batch {batches}"
    )


def _render_predicted(p: dict[str, Any]) -> None:
    """The search's predictions: a line per device (its table's kind and its budget), then the rest."""
    devices = p.get("devices") or {}
    for name, d in devices.items():
        kind = " [yellow](estimated table)[/yellow]" if d["kind"] == "estimated" else ""
        budget = f", budget {d['budget_ms']:g} ms" if d.get("budget_ms") is not None else ""
        out.print(f"predicted on {name}: {d['latency_ms']:.3f} ms{kind}{budget}")
    apart = {"device", "latency_table", "devices", "accuracy_note", *(("latency_ms",) if devices else ())}
    shown = [_predicted_value(k, v) for k, v in p.items() if k not in apart]
    if shown:
        out.print(("predicted: " if devices else f"predicted on {p.get('device')}: ") + ", ".join(shown))


def _predicted_value(key: str, value: Any) -> str:
    """One predicted number in the units the search table shows it in."""
    units = {
        "latency_ms": lambda v: f"{v:.3f} ms",
        "accuracy": lambda v: f"top-1 {v:.2f} % (training-split images; `ofa-edge eval` measures the test split)",
        "macs": lambda v: f"{v / 1e6:.1f}M MACs",
        "params": lambda v: f"{v / 1e6:.2f}M params",
    }
    if key in units and isinstance(value, int | float):
        return units[key](value)
    return f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"


def register(app: typer.Typer) -> None:
    app.command("export")(export)
