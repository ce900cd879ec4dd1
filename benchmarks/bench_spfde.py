"""SpFDE levers on DεpS: training FLOPs, seconds and probe top-1 at the same epoch budget.

Trains with the library's Trainer three times on the same data, seed and schedule:

* ``deps`` — DεpS alone;
* ``deps+fs`` — plus progressive freezing and circular data sieving;
* ``deps+fss`` — plus dynamic sparse training (``--pattern``, 2:4 by default).

and prints one table (and ``--json`` document) with the ledger's training FLOPs (dense
count, FLOPs actually computed, saved per lever), seconds and the top-1 of the probe subnets
after BN recalibration. Uses CUDA when present. Each variant trains in a fresh process: on a
GPU the first meeting of each layer shape costs far more than a step (lazy kernel loading,
cuDNN heuristics), so variants sharing one process would hand that cost to the first. The
seconds are the ledger's (epochs, checkpoints, probes) and the training epochs alone (from each
epoch's images/s), all of them and without the first epoch of each phase, where new shapes
are met. Each variant's run and result row stay
under ``--out``: the same command again reuses finished variants and restarts a cut-off one.

    python benchmarks/bench_spfde.py --epochs 40                                   # full CIFAR-10, GPU
    python benchmarks/bench_spfde.py --epochs 4 --limit-train 2000 --limit-val 500  # small CPU run
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.errors import UserError
from ofa_edge.host import cpu_model
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.spfde import SpfdeLever
from ofa_edge.train.spfde.lever import SpfdeConfig
from ofa_edge.train.spfde.options import resolve_spfde
from ofa_edge.train.trainer import Trainer

err = Console(stderr=True)


def prepare_variant(name: str, args: argparse.Namespace, **levers) -> tuple[str, TrainConfig, SpfdeConfig]:
    """The run's config and SpFDE options; raises before any training if the levers do not fit the budget."""
    cfg = TrainConfig(
        data=str(args.data), out=str(args.out / name), method="deps", epochs=args.epochs,
        batch_size=args.batch_size, limit_train=args.limit_train, limit_val=args.limit_val,
        calib_images=args.calib_images, probe_every=args.epochs, device=args.device, seed=args.seed,
        subnets_per_step=args.subnets_per_step,
    )  # fmt: skip
    cfg, _ = cfg.resolved()
    interval = args.interval if any(levers.values()) else None  # Δτ times the levers; the baseline has none
    spfde, notes = resolve_spfde(cfg.space, cfg.epochs, mask_interval=interval, **levers)
    if not args.variant:  # the child processes resolve the same settings again, silently
        for n in notes:
            err.print(f"[dim]{name}: {n}[/dim]")
    return name, cfg, spfde


def _settings(args: argparse.Namespace) -> dict[str, str]:
    """The arguments a result row depends on (not where output goes)."""
    skip = {"out", "json", "no_progress", "variant", "row_json"}
    return {k: str(v) for k, v in vars(args).items() if k not in skip}


def _epoch_seconds(run_dir: Path) -> tuple[list[float], list[bool]]:
    """Seconds of each training epoch (images over images/s) and whether it opened its phase."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    images = [r["ledger"]["images"] for r in records]
    done = [b - a for a, b in zip([0, *images], images)]
    phases = [r["phase"] for r in records]
    return [n / r["images_per_s"] for n, r in zip(done, records)], [
        i == 0 or p != phases[i - 1] for i, p in enumerate(phases)
    ]


def run_variant(name: str, cfg: TrainConfig, spfde: SpfdeConfig, args: argparse.Namespace) -> dict:
    trainer = Trainer(cfg, [SpfdeLever(spfde, cfg.epochs, cfg.seed)] if spfde.enabled else [])
    t0 = time.perf_counter()
    result = trainer.run(resume=False, show_progress=not args.no_progress)
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    led = result["ledger"]
    epochs, opens_phase = _epoch_seconds(Path(cfg.out))
    return {
        "variant": name,
        "wall_s": time.perf_counter() - t0,
        "train_s": led["wall_seconds"],
        "epoch_seconds": epochs,
        "epochs_s": sum(epochs),
        "epochs_steady_s": sum(t for t, first in zip(epochs, opens_phase) if not first),
        "dense_flops": led["total_flops"],
        "computed_flops": led["computed_flops"],
        "saved_flops": led["saved_flops"],
        "images": led["images"],
        "probes_top1": result["probes_top1"],
        "spfde": spfde.to_dict(),
        "settings": _settings(args),
    }


def _in_fresh_process(name: str, args: argparse.Namespace) -> dict:
    """This script for one variant in a child process; returns its row.

    A variant with a row from an earlier call is not run again, so a benchmark longer than one
    call goes on where it stopped; a variant that was cut off restarts from scratch (a resumed
    run would pay the first-meeting cost twice and its seconds would not compare).
    """
    out = args.out
    row_path = out / f"{name}.row.json"
    if row_path.is_file():
        row = json.loads(row_path.read_text())
        if row.get("settings") != _settings(args):
            raise SystemExit(f"{out} holds results of other settings ({row_path}); pass a fresh --out")
        err.print(f"[dim]{name}: row from an earlier call ({row_path})[/dim]")
        return row
    if (out / name).exists():
        err.print(f"[dim]{name}: cut off in an earlier call; starting it again[/dim]")
        shutil.rmtree(out / name)
    cmd = [sys.executable, __file__, *sys.argv[1:], "--variant", name, "--row-json", str(row_path)]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SystemExit(f"variant {name} failed (command: {' '.join(cmd)})")
    return json.loads(row_path.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--out", type=Path, default=Path("ofa-edge-runs/bench-spfde"))
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--subnets-per-step", type=int, default=4)
    p.add_argument("--limit-train", type=int, default=None)
    p.add_argument("--limit-val", type=int, default=None)
    p.add_argument("--calib-images", type=int, default=2000)
    p.add_argument("--interval", type=int, default=None, help="Δτ in epochs [default: 5%% of the run]")
    p.add_argument("--freeze-target", type=float, default=0.1)
    p.add_argument("--freeze-start", type=int, default=None)
    p.add_argument("--sieve-frac", type=float, default=0.2)
    p.add_argument("--pattern", default="2:4")
    p.add_argument("--sparsity", type=float, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--variant", help=argparse.SUPPRESS)  # internal: train this one variant in this process
    p.add_argument("--row-json", type=Path, help=argparse.SUPPRESS)  # internal: where that variant's row goes
    args = p.parse_args()
    fs = {"freeze_flops_target": args.freeze_target, "freeze_start": args.freeze_start, "sieve_frac": args.sieve_frac}
    try:  # all resolved first: levers that do not fit the budget fail before any training
        variants = {
            v[0]: v
            for v in (
                prepare_variant("deps", args),
                prepare_variant("deps+fs", args, **fs),
                prepare_variant("deps+fss", args, **fs, sparsity=args.sparsity, pattern=args.pattern),
            )
        }
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    if args.variant:
        row = json.dumps(run_variant(*variants[args.variant], args))
        tmp = args.row_json.with_suffix(".tmp")
        tmp.write_text(row)
        tmp.replace(args.row_json)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [_in_fresh_process(name, args) for name in variants]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else cpu_model()
    doc = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "rows": rows,
    }
    t = Table(title=f"SpFDE on DεpS, {args.epochs} epochs, {device}")
    probes = list(rows[0]["probes_top1"])
    cols = (
        "variant",
        "dense TFLOPs",
        "computed TFLOPs",
        "vs deps",
        "saved (sp/frz/sieve)",
        "train s",
        "epochs s",
        "steady epochs s",
    )
    for col in (*cols, *probes):
        t.add_column(col, justify="right")
    base = rows[0]["computed_flops"]
    for r in rows:
        s = r["saved_flops"]
        saved = "/".join(f"{s.get(k, 0) / 1e12:.3f}" for k in ("sparsity", "freezing", "sieving"))
        t.add_row(
            r["variant"], f"{r['dense_flops'] / 1e12:.3f}", f"{r['computed_flops'] / 1e12:.3f}",
            f"{r['computed_flops'] / base:.2f}x", saved, f"{r['train_s']:.0f}", f"{r['epochs_s']:.1f}",
            f"{r['epochs_steady_s']:.1f}",
            *(f"{r['probes_top1'].get(k, float('nan')):.2f}" for k in probes),
        )  # fmt: skip
    Console().print(t)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
