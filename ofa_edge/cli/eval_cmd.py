"""``ofa-edge eval``: top-1 of subnets of a supernet after BN recalibration, or of a pruned network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, SeedOpt, data_arg, data_help, emit, err, note, out, subnet_arg, warn
from ofa_edge.errors import Interrupted, UserError, refuse_options
from ofa_edge.host import check_torch_device, resolve_torch_device
from ofa_edge.paths import require_embedded_supernet
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, BN_IMAGES
from ofa_edge.train.probes import PROBE_BATCH, RANDOM_PROBES, evaluate_probes, probe_configs
from ofa_edge.units import check_range


def eval_(
    supernet: Annotated[
        Path | None,
        typer.Option(
            help="Supernet checkpoint (default: the one the search that chose --subnet used, or the one its bundle "
            "was exported from, else the embedded pretrained one)."
        ),
    ] = None,
    subnet: Annotated[
        Path | None,
        typer.Option(
            help="Subnet to evaluate: JSON (ofa-edge or OFA arch dict), a search's folder, or the id of one of the "
            "last search's top-k."
        ),
    ] = None,
    probes: Annotated[
        bool,
        typer.Option(
            "--probes",
            help=f"Evaluate the probe subnets: min, mid, max and {RANDOM_PROBES} fixed random ones (the default when no "
            "--subnet is given).",
        ),
    ] = False,
    slim: Annotated[
        Path | None,
        typer.Option(
            help="A pruned network from `ofa-edge prune` (its slim.json or --out folder), scored as it is: BN is not "
            "recalibrated (instead of --subnet or --probes)."
        ),
    ] = None,
    data: Annotated[Path | None, typer.Option(help=data_help("to evaluate on", shipped_sample=True))] = None,
    split: Annotated[str, typer.Option(help="Split to evaluate on.")] = "test",
    limit: Annotated[int | None, typer.Option(help="Evaluate on a class-balanced random subset of N images.")] = None,
    calib_images: Annotated[
        int | None,
        typer.Option(
            "--bn-images", "--calib-images", help=f"Training images for BN recalibration (default: {BN_IMAGES:,})."
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            help=f"Inference batch size; it does not move top-1: BN is recalibrated in batches of {BN_CALIB_BATCH} "
            "whatever it is, as in every command (its statistics average per-batch ones)."
        ),
    ] = PROBE_BATCH,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto.")] = "auto",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Top-1 of a subnet (or the probe subnets) after BN recalibration on training images."""
    import torch  # here, not at the top: `ofa-edge eval --help` needs none of these

    from ofa_edge.data.classes import require_num_classes, require_same_classes
    from ofa_edge.data.datasets import load_dataset
    from ofa_edge.data.subset import unfilled_limit
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.space import SubnetConfig
    from ofa_edge.supernet.bn_calibration import few_images_warning
    from ofa_edge.supernet.checkpoint import load_supernet
    from ofa_edge.supernet.metadata import read_metadata, trained_on

    if slim is not None:
        given = {
            "--subnet": subnet,
            "--probes": probes,
            "--supernet": supernet,
            "--bn-images": calib_images is not None,
        }
        refuse_options(
            [flag for flag, value in given.items() if value],
            "--slim scores a pruned network as it is: drop {given} (BN statistics and weights are its own).",
        )
    calib_images = BN_IMAGES if calib_images is None else calib_images
    if subnet is not None and probes:
        raise UserError("pass either --subnet FILE or --probes, not both.")
    if subnet is not None:
        subnet = subnet_arg(subnet)
    check_range("--limit", limit, ge=1)
    check_range("--bn-images", calib_images, ge=1)
    if slim is None and (message := few_images_warning(calib_images)) is not None:
        warn(message)
    check_range("--batch-size", batch_size, ge=1)
    check_torch_device(device)
    if device == "auto":
        device = resolve_torch_device()
        note(f"device: {device} (auto)")
    if slim is not None:
        _eval_slim(slim, data, split, limit, batch_size, device, seed, as_json)
        return
    chosen: dict[str, SubnetConfig] = {}
    # --subnet as export takes it (a file, a search's folder or a top-k id), with the supernet it goes with
    if subnet is not None:
        inputs = resolve_inputs(subnet, supernet)
        for line in inputs.notes:
            note(line)
        chosen, supernet = {Path(subnet).stem: inputs.subnet}, inputs.supernet
    if supernet is None:
        supernet = require_embedded_supernet()
        note(f"supernet: {supernet} (embedded default)")
    trained = trained_on(read_metadata(supernet))
    data = data_arg(
        data, trained.classes, {"--bn-images": calib_images, **({"--limit": limit} if limit is not None else {})}
    )
    net = load_supernet(supernet, device=device)
    size = max(net.space.resolutions)
    val = load_dataset(data, split, limit=limit, seed=seed, size=size)
    split = val.split  # a tree's val/ where it has no test/
    calib = load_dataset(data, "train", limit=calib_images, seed=seed, size=size).shuffled(seed)
    require_same_classes(calib, val, data)
    for unfilled in (
        unfilled_limit("--limit", limit, len(val), split),
        unfilled_limit("--bn-images", calib_images, len(calib), "training"),
    ):
        if unfilled:
            note(unfilled)
    if split == "train":
        note(
            "--split train: top-1 on images the supernet trained on (BN is recalibrated on that split too); it overstates accuracy on new images"
        )
    require_num_classes(val, net.num_classes, data, trained)
    cfgs = chosen or probe_configs(net.space)
    if not chosen and not probes:
        note(f"no --subnet: evaluating the probe subnets ({', '.join(cfgs)})")
    results: dict[str, dict[str, float]] = {}
    with _bar() as bar:
        task = bar.add_task("", total=len(cfgs))
        for name, cfg in cfgs.items():
            bar.update(task, description=name)
            try:
                results |= evaluate_probes(net, {name: cfg}, calib, val, torch.device(device), batch_size)
            except KeyboardInterrupt:
                done = ", ".join(f"{n} {r['top1']:.2f}%" for n, r in results.items())
                raise _nothing_kept(f"{len(results)} of {len(cfgs)} subnets{f' ({done})' if done else ''}") from None
            bar.advance(task)
    doc = {
        "supernet": str(supernet),
        "data": str(data),
        "split": split,
        "images": len(val),
        "calib_images": len(calib),
        "calib_batch": BN_CALIB_BATCH,
        "subnets": {name: {"config": cfgs[name].to_dict(), "top1": r["top1"]} for name, r in results.items()},
    }

    title = f"top-1 on {split} ({len(val)} images, BN recalibrated on {len(calib)})"
    emit(doc, as_json, lambda: _render(title, doc, {name: cfg.describe() for name, cfg in cfgs.items()}))


def _eval_slim(
    slim: Path, data: Path | None, split: str, limit: int | None, batch_size: int, device: str, seed: int, as_json: bool
) -> None:
    """Top-1 of a pruned network from ``ofa-edge prune`` (a path as ``export --slim`` takes it), its BN statistics
    as they were trained with it."""
    import torch

    from ofa_edge.data.classes import TrainedOn, require_num_classes
    from ofa_edge.data.datasets import load_dataset
    from ofa_edge.data.subset import unfilled_limit
    from ofa_edge.export.inputs import ExportInputs, slim_inputs
    from ofa_edge.io import read_consistent
    from ofa_edge.prune.slim import load_slim
    from ofa_edge.supernet.evaluate import module_top1

    def read() -> tuple[ExportInputs, torch.nn.Module]:  # the description and the network of one prune run
        inputs = slim_inputs(slim)
        return inputs, load_slim(inputs.slim)

    inputs, model = read_consistent(slim if slim.is_dir() else slim.parent, read)  # a prune may replace it meanwhile
    for line in inputs.notes:
        note(line)
    data = data_arg(data, inputs.classes, {"--limit": limit} if limit is not None else {})
    cfg = inputs.subnet
    val = load_dataset(data, split, limit=limit, seed=seed, size=max(cfg.search_space.resolutions))
    split = val.split  # a tree's val/ where it has no test/
    if unfilled := unfilled_limit("--limit", limit, len(val), split):
        note(unfilled)
    if split == "train":
        note("--split train: top-1 on images the network was pruned on; it overstates accuracy on new images")
    require_num_classes(val, len(inputs.classes or ()), data, TrainedOn(inputs.classes))
    name = inputs.slim.parent.name
    with _bar() as bar:  # a step per batch of images scored, as the supernet path steps per subnet
        task = bar.add_task(f"{name}, {split} images", total=len(val))
        try:
            top1 = module_top1(
                model,
                val,
                torch.device(device),
                batch_size,
                cfg.search_space,
                cfg.resolution,
                on_batch=lambda images: bar.update(task, completed=images),
            )
        except KeyboardInterrupt:
            raise _nothing_kept(f"{int(bar.tasks[0].completed):,} of {len(val):,} images") from None
    doc = {
        "slim": str(inputs.slim),
        "supernet": None,
        "data": str(data),
        "split": split,
        "images": len(val),
        "calib_images": 0,
        "calib_batch": None,
        "subnets": {name: {"config": cfg.to_dict(), "top1": top1}},
    }
    title = f"top-1 on {split} ({len(val)} images; pruned network, BN NOT recalibrated: its statistics were trained with it)"
    emit(doc, as_json, lambda: _render(title, doc, {name: f"pruned from {cfg.describe()}"}))


def _nothing_kept(done: str) -> Interrupted:
    """The Ctrl-C of an eval that had measured ``done``: it keeps nothing, so nothing resumes (the CLI's line on
    long jobs says they do)."""
    return Interrupted(f"interrupted after {done}; eval keeps nothing: running the same command again measures afresh.")


def _bar() -> Progress:
    """The bar of eval, with what is being evaluated and the time so far: over the subnets evaluated (a step each), or
    over the images a pruned network has scored (``--slim``: a step per batch)."""
    columns = (TextColumn("eval {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=err)


def _render(title: str, doc: dict, configs: dict[str, str]) -> None:
    """The table of ``doc``'s subnets: name, ``configs``' description of it, top-1."""
    t = Table(title=title)
    t.add_column("subnet")
    t.add_column("config")
    t.add_column("top-1", justify="right")
    for name, r in doc["subnets"].items():
        t.add_row(name, configs[name], f"{r['top1']:.2f}%")
    out.print(t)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_)
