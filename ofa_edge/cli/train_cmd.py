"""``ofa-edge train``: train a supernet with DεpS (default), OFA, BigNAS or CompOFA."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperOption

from ofa_edge.cli.common import JsonOpt, SeedOpt, data_help, emit, note, out, warn
from ofa_edge.errors import UserError
from ofa_edge.io import check_output_folder
from ofa_edge.paths import work_dir
from ofa_edge.supernet.bn_calibration import BN_IMAGES
from ofa_edge.train.methods import MAX_SUBNETS_PER_STEP
from ofa_edge.train.rundir import RUN_FILES, RunDir
from ofa_edge.train.spfde.options import (
    MASK_GROW,
    MASK_UPDATE_FRAC,
    default_mask_interval,
    freezing_plan_note,
    resolve_spfde,
)
from ofa_edge.units import parse_duration_s

if TYPE_CHECKING:
    from ofa_edge.train.spfde.lever import SpfdeConfig

# Options of this call only: not recorded in the run's config.json, not taken from it on --resume.
PER_CALL = {"out_dir", "resume", "time_limit", "progress", "as_json"}


def train(
    ctx: typer.Context,
    method: Annotated[str, typer.Option(help="deps | ofa | bignas | compofa.")] = "deps",
    data: Annotated[
        Path | None,
        typer.Option(help=data_help("to train on")),
    ] = None,
    space: Annotated[str, typer.Option(help="Search space name (see `ofa-edge space`).")] = "mbv3-w1.0-cifar",
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 40,
    batch_size: Annotated[int, typer.Option(help="Images per step per process.")] = 128,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default: 0.1 x global batch / 256).")] = None,
    lr_warmup_epochs: Annotated[
        float | None,
        typer.Option(help="Linear LR warmup (default: 5% of the epochs, in whole epochs: none up to 10 epochs)."),
    ] = None,
    warmup_frac: Annotated[
        float, typer.Option(help="DεpS: fraction of epochs the full model trains alone, in [0, 1).")
    ] = 0.5,
    eps_epochs: Annotated[
        float | None,
        typer.Option(
            help="DεpS: epochs of the β ramp after the shrink start (default: 5% of the run, at least 1; 0: no ramp)."
        ),
    ] = None,
    subnets_per_step: Annotated[
        int,
        typer.Option(
            help=f"Sandwich size: max, min and n-2 random subnets, 2 to {MAX_SUBNETS_PER_STEP} (deps, bignas)."
        ),
    ] = 4,
    beta_mult: Annotated[float, typer.Option(help="Subnets' gradient weight after the ε ramp (deps, bignas).")] = 1.0,
    kd_temp: Annotated[float, typer.Option(help="Distillation temperature.")] = 1.0,
    grad_agg: Annotated[str, typer.Option(help="Gradient aggregation over a step's subnets: sum | avg.")] = "sum",
    label_smoothing: Annotated[float, typer.Option(help="Label smoothing of the CE loss.")] = 0.1,
    weight_decay: Annotated[float, typer.Option(help="Weight decay (not on BN, biases, kernel transforms).")] = 5e-5,
    kernel_transform: Annotated[bool, typer.Option(help="OFA's learned kernel-transform matrices.")] = False,
    reorder: Annotated[
        bool, typer.Option(help="Sort channels by importance when expand ratios start shrinking.")
    ] = False,
    limit_train: Annotated[
        int | None, typer.Option(help="Train on a class-balanced random subset of N images.")
    ] = None,
    limit_val: Annotated[int | None, typer.Option(help="Validate on N images of the validation split.")] = None,
    val_split: Annotated[str, typer.Option(help="Split the probes are validated on.")] = "test",
    calib_images: Annotated[
        int,
        typer.Option("--bn-images", "--calib-images", help="Training images for BN recalibration of each probe."),
    ] = BN_IMAGES,
    probe_every: Annotated[int, typer.Option(help="Validate probe subnets every N epochs (0: never).")] = 1,
    ckpt_every: Annotated[int, typer.Option(help="Also checkpoint every N steps (0: only at epoch ends).")] = 0,
    time_limit: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Checkpoint and stop after this much time, e.g. 540s, 90m, 2h or 1h30m (a bare number is seconds); "
            "resume later.",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default: <work dir>/train-<method>).")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue the run in --out from its last checkpoint, with its recorded options "
            "(those given again must match, except data, device, speed and validation options)."
        ),
    ] = False,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto.")] = "auto",
    amp: Annotated[bool, typer.Option(help="bfloat16 autocast.")] = False,
    channels_last: Annotated[
        bool | None,
        typer.Option(
            "--channels-last/--no-channels-last",
            help="Memory format of weights and batches (default: channels_last on the CPU, NCHW on CUDA).",
        ),
    ] = None,
    cudnn_benchmark: Annotated[
        bool,
        typer.Option(
            help="GPU: let cuDNN time its algorithms once per convolution shape and keep the fastest. "
            "A supernet meets hundreds of shapes, so early steps of each phase get slower."
        ),
    ] = False,
    cuda_graphs: Annotated[
        bool,
        typer.Option(
            help="GPU: capture each block variant's forward and backward as CUDA graphs the first time it runs "
            "and replay them. Helps where steps are launch-bound (small images or batches: 3.3x eager on an H100 "
            "for OFA's layout at 32 px, batch 256); memory grows with batch size and the variants met."
        ),
    ] = False,
    sparsity: Annotated[
        float | None,
        typer.Option(
            help="SpFDE: dynamic sparse training at this sparsity of the conv weights, in (0, 1) (first conv and depthwise dense).",
            rich_help_panel="SpFDE levers",
        ),
    ] = None,
    sparsity_pattern: Annotated[
        str,
        typer.Option(
            help="SpFDE: unstructured | N:M along input channels, e.g. 2:4 (implies its sparsity).",
            rich_help_panel="SpFDE levers",
        ),
    ] = "unstructured",
    mask_interval: Annotated[
        int | None,
        typer.Option(
            help="SpFDE Δτ: epochs between mask prune-and-grow, and the default of --freeze-interval and "
            "--sieve-interval (default: 5% of the run; needs one of the levers).",
            rich_help_panel="SpFDE levers",
        ),
    ] = None,
    mask_update_frac: Annotated[
        float,
        typer.Option(
            help="SpFDE: share of live weights swapped at the first mask update (cosine decay).",
            rich_help_panel="SpFDE levers",
        ),
    ] = MASK_UPDATE_FRAC,
    mask_grow: Annotated[
        str,
        typer.Option(help="SpFDE: grow by 'gradient' magnitude or 'random' (MEST).", rich_help_panel="SpFDE levers"),
    ] = MASK_GROW,
    freeze_flops_target: Annotated[
        float | None,
        typer.Option(
            help="SpFDE: freeze blocks front to back until this fraction of training FLOPs is saved, e.g. 0.05 (0.1 is beyond a 40-epoch run at the default schedule).",
            rich_help_panel="SpFDE levers",
        ),
    ] = None,
    freeze_start: Annotated[
        int | None,
        typer.Option(
            help="SpFDE T_frz: epochs trained before the first freeze (20: after epoch 20; 0: before the first "
            "step; default: half the run).",
            rich_help_panel="SpFDE levers",
        ),
    ] = None,
    freeze_interval: Annotated[
        int | None, typer.Option(help="SpFDE: epochs between freezes (default: Δτ).", rich_help_panel="SpFDE levers")
    ] = None,
    sieve_frac: Annotated[
        float | None,
        typer.Option(
            help="SpFDE: circular data sieving, share of the data held out, in (0, 1).", rich_help_panel="SpFDE levers"
        ),
    ] = None,
    sieve_interval: Annotated[
        int | None, typer.Option(help="SpFDE: epochs between sieves (default: Δτ).", rich_help_panel="SpFDE levers")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train a once-for-all supernet; every epoch checkpoints, validates probe subnets and updates the cost ledger."""
    # here, not at the top: `ofa-edge train --help` needs none of torch
    from ofa_edge.data import DEFAULT_ROOT
    from ofa_edge.train.config import TrainConfig
    from ofa_edge.train.distributed import launched_world
    from ofa_edge.train.progress import significant
    from ofa_edge.train.spfde import SpfdeLever
    from ofa_edge.train.trainer import Trainer

    defaults = []  # said once the options are known to be valid (`--method foo` named its folder first)
    if out_dir is None:
        out_dir = work_dir() / f"train-{method}"
        defaults.append(f"out: {out_dir}")
    check_output_folder(out_dir, RUN_FILES, "a training run")
    opts = _options(ctx, out_dir) if resume else dict(ctx.params)
    if opts["data"] is None:
        defaults.append(f"data: {DEFAULT_ROOT} (default CIFAR-10, packed JPEG; $OFA_EDGE_DATA)")
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"data"}
    cfg = TrainConfig(
        data=str(opts["data"] or DEFAULT_ROOT),
        out=str(out_dir),
        time_limit_s=parse_duration_s(time_limit, "--time-limit") if time_limit else None,
        **{k: v for k, v in opts.items() if k in fields},
    )
    rank, world = launched_world()
    main_process = rank == 0  # under torchrun only rank 0 reports
    cfg, notes = cfg.resolved(world)
    spfde, spfde_notes = _resolve_levers(opts)
    for text in defaults + notes + spfde_notes if main_process else ():
        note(text)  # before the trainer's own notes on the data it loads, and its warnings
    recorded = {k: v for k, v in opts.items() if k not in PER_CALL}
    if recorded["data"] is not None:
        recorded["data"] = str(Path(recorded["data"]).absolute())
    levers = [SpfdeLever(spfde, cfg.epochs, cfg.seed)] if spfde.enabled else []
    trainer = Trainer(cfg, levers, options=recorded, note=note, warn=warn)
    if main_process:
        if spfde.freezing is not None:  # the plan of the network that trains: its class count is the data's
            note(freezing_plan_note(trainer.space, trainer.net.num_classes, spfde.freezing, cfg.epochs))
        for ph in trainer.method.phases:
            # numbered as the epoch lines number them (epoch 1/40 ...), not as phases' half-open [start, end)
            span = f"epoch {ph.end}" if ph.end - ph.start == 1 else f"epochs {ph.start + 1}-{ph.end}"
            steps = trainer.loader.steps_per_epoch
            note(f"phase {ph.name}: {span} of {cfg.epochs} ({steps} step{'s' if steps != 1 else ''}/epoch)")
    result = trainer.run(resume=resume, show_progress=progress)
    if not main_process:
        return
    if spfde.enabled:
        result["spfde"] = spfde.to_dict()

    def render() -> None:
        t = Table(title=f"ofa-edge train --method {cfg.method}: {result['status']}")
        t.add_column("probe")
        t.add_column("top-1 (BN recalibrated)", justify="right")
        for name, top1 in result["probes_top1"].items():
            t.add_row(name, f"{top1:.2f}%")
        if result["probes_top1"]:
            out.print(t)
        else:
            out.print(t.title)
            out.print(
                "no probes (--probe-every 0)" if cfg.probe_every == 0 else "no probes yet (stopped before the first)"
            )
        led = result["ledger"]
        tflops = significant(led["total_flops"] / 1e12)  # a tiny run's 0.00432 read "0.00"
        out.print(
            f"{led['images']:,} images, {led['subnet_images']:,} subnet-images, {tflops} TFLOPs "
            f"(3x fwd MACs{', + 1x the teacher' if led['teacher_flops'] else ''}), {led['wall_seconds']:.1f} s on "
            f"{led['device']}"
        )
        if "cuda_graphs" in result:
            g = result["cuda_graphs"]
            out.print(
                f"CUDA graphs: {g['captured']} block variants captured in {g['capture_seconds']:.1f} s"
                + (f", {g['eager_variants']} run eagerly (GPU memory short)" if g["eager_variants"] else "")
            )
        if led["saved_flops"]:
            # three significant digits: a short run's saving of 0.000288 read "0.00"
            saved = ", ".join(f"{k} {significant(v / 1e12)}" for k, v in led["saved_flops"].items())
            out.print(f"SpFDE saved TFLOPs: {saved}; computed {significant(led['computed_flops'] / 1e12)} TFLOPs")
        out.print(f"run dir: {result['run_dir']}" + (f"  supernet: {result['supernet']}" if result["supernet"] else ""))

    emit(result, as_json, render)


def _options(ctx: typer.Context, out_dir: Path) -> dict[str, Any]:
    """This call's options for ``--resume``: those not on the command line come from the run's
    ``config.json``; one given with another value than the run's is refused, unless it is free to change."""
    from ofa_edge.train.config import RESUME_FREE

    rd = RunDir(out_dir)
    saved = rd.require_config() if rd.checkpoint.exists() else rd.read_config()
    if saved is None:
        return dict(ctx.params)  # nothing to resume: the trainer says so and starts a new run
    trained = saved.get("train", {})
    run = saved.get("options", {k: v for k, v in trained.items() if k in ctx.params})  # runs that predate 'options'
    # by name: newer typer bundles its own click, whose ParameterSource enum is not click's
    given = {k for k in ctx.params if getattr(ctx.get_parameter_source(k), "name", None) == "COMMANDLINE"}
    opts = {k: v if k in given or k not in run else run[k] for k, v in ctx.params.items()}
    levers = _recorded_levers(run) if given & _SPFDE_OPTIONS.keys() else None  # once, and only where asked
    clash = [
        (k, v)
        for k, v in opts.items()
        if k in given
        and k in run
        and k not in PER_CALL | RESUME_FREE
        and v not in (run[k], trained.get(k))
        and not _same_levers(levers, run, k, v)
    ]
    if clash:
        params = {p.name: p for p in ctx.command.params}
        shown = "; ".join(
            f"{_run_flag(params[k], run, trained, levers, k)}, not {_flag(params[k], v)}" for k, v in clash
        )
        drop = ", ".join(params[k].opts[0] for k, _ in clash)
        raise UserError(
            f"--resume: the run in '{out_dir}' has {shown}; drop {drop} to continue it with its options, "
            "or pick another --out for a new run."
        )
    return opts


def _same_levers(levers: SpfdeConfig | None, run: dict[str, Any], key: str, value: Any) -> bool:
    """Whether the run's SpFDE levers resolve the same with option ``key`` set to ``value``: ``--freeze-start 20``
    given again to a 40-epoch run that took its default T_frz, 20, or ``--sparsity 0.5`` to a 2:4 run, is the
    run's value."""
    if key not in _SPFDE_OPTIONS or levers is None:
        return False
    try:
        return levers == _resolve_levers(run | {key: value})[0]
    except (UserError, KeyError):  # another value that does not resolve
        return False


def _recorded_levers(run: dict[str, Any]) -> SpfdeConfig | None:
    """The SpFDE levers a run's recorded options resolve to; None for a run that predates the options."""
    try:
        return _resolve_levers(run)[0]
    except (UserError, KeyError):
        return None


def _resolve_levers(opts: dict[str, Any]) -> tuple[SpfdeConfig, list[str]]:
    """The SpFDE levers that ``train``'s options (given, or recorded in a run) resolve to, with the notes on
    the defaults picked."""
    kwargs = {_SPFDE_OPTIONS[k]: opts[k] for k in _SPFDE_OPTIONS if k in opts}
    return resolve_spfde(opts["space"], opts["epochs"], reorder=bool(opts.get("reorder")), **kwargs)


def _run_flag(
    param: TyperOption, run: dict[str, Any], trained: dict[str, Any], levers: SpfdeConfig | None, key: str
) -> str:
    """The run's option ``key`` as the refusal shows it: ``--epochs 120``; ``--lr (default: 0.00625)`` or
    ``--freeze-start (default: 20)`` for one the run left to its default; ``--mask-grow (off)`` for an option of
    a lever the run trained without (``--mask-interval``: without any)."""
    if levers is not None and key in _LEVER_OF:
        lever = _LEVER_OF[key]
        if not (levers.enabled if lever is None else getattr(levers, lever) is not None):
            return f"{param.opts[0]} (off)"
    if run[key] is not None:
        return _flag(param, run[key])
    default = trained.get(key)  # what TrainConfig resolved it to
    if default is None and levers is not None:
        if key == "mask_interval":
            default = default_mask_interval(run["epochs"])
        elif key in _RESOLVED_FIELD:
            default = getattr(getattr(levers, _LEVER_OF[key]), _RESOLVED_FIELD[key])
    return _flag(param, None, "default" if default is None else f"default: {_shown(default)}")


def _shown(value: Any) -> Any:
    """A number as a message shows it: ``0`` for 0.0, ``0.00625``."""
    return f"{value:g}" if isinstance(value, float) else value


# each SpFDE option's lever (the SpfdeConfig field; None: --mask-interval, Δτ of all three)
_LEVER_OF = {
    "sparsity": "sparsity", "sparsity_pattern": "sparsity", "mask_update_frac": "sparsity", "mask_grow": "sparsity",
    "freeze_flops_target": "freezing", "freeze_start": "freezing", "freeze_interval": "freezing",
    "sieve_frac": "sieving", "sieve_interval": "sieving", "mask_interval": None,
}  # fmt: skip
# ``ofa-edge train``'s SpFDE options (those of _LEVER_OF) and the :func:`resolve_spfde` arguments they are
_SPFDE_OPTIONS = {k: k for k in _LEVER_OF} | {"sparsity_pattern": "pattern"}
# the options a lever resolves a default for: their field in the lever's config
_RESOLVED_FIELD = {
    "sparsity": "sparsity", "freeze_flops_target": "flops_target", "freeze_start": "start",
    "freeze_interval": "interval", "sieve_frac": "frac", "sieve_interval": "interval",
}  # fmt: skip


def _flag(param: TyperOption, value: Any, default: str = "default") -> str:
    """``--epochs 120``, ``--amp`` / ``--no-amp``: an option as one would type it; ``--lr (default: 0.1)``
    for one left at its default (``default`` says what that was)."""
    if param.is_flag and param.secondary_opts:
        return param.opts[0] if value else param.secondary_opts[0]
    return f"{param.opts[0]} {f'({default})' if value is None else _shown(value)}"


def register(app: typer.Typer) -> None:
    app.command("train")(train)
