"""SpFDE levers on DεpS: training FLOPs, seconds and probe top-1 at the same epoch budget.

Runs ``ofa-edge train`` (the library's Trainer, in process) three times on the same data,
seed and schedule:

* ``deps`` — DεpS alone;
* ``deps+fs`` — plus progressive freezing and circular data sieving;
* ``deps+fss`` — plus dynamic sparse training (``--pattern``, 2:4 by default).

and prints one table (and ``--json`` document) with the ledger's training FLOPs (dense
count, FLOPs actually computed, saved per lever), wall seconds and the top-1 of the probe
subnets after BN recalibration. Uses CUDA when present.

    python benchmarks/bench_spfde.py --epochs 40                                   # full CIFAR-10, GPU
    python benchmarks/bench_spfde.py --epochs 4 --limit-train 2000 --limit-val 500  # small CPU run
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.spfde import SpfdeLever
from ofa_edge.train.spfde.options import resolve_spfde
from ofa_edge.train.trainer import Trainer

err = Console(stderr=True)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or platform.machine()


def prepare_variant(name: str, args: argparse.Namespace, **levers) -> tuple[str, TrainConfig, object]:
    """The run's config and SpFDE options; raises before any training if the levers do not fit the budget."""
    cfg = TrainConfig(
        data=str(args.data), out=str(args.out / name), method="deps", epochs=args.epochs,
        batch_size=args.batch_size, limit_train=args.limit_train, limit_val=args.limit_val,
        calib_images=args.calib_images, probe_every=args.epochs, device=args.device, seed=args.seed,
        subnets_per_step=args.subnets_per_step,
    )  # fmt: skip
    cfg, _ = cfg.resolved()
    spfde, notes = resolve_spfde(cfg.space, cfg.epochs, mask_interval=args.interval, **levers)
    for n in notes:
        err.print(f"[dim]{name}: {n}[/dim]")
    return name, cfg, spfde


def run_variant(name: str, cfg: TrainConfig, spfde, args: argparse.Namespace) -> dict:
    trainer = Trainer(cfg, [SpfdeLever(spfde, cfg.epochs, cfg.seed)] if spfde.enabled else [])
    t0 = time.perf_counter()
    result = trainer.run(resume=False, show_progress=not args.no_progress)
    if cfg.device.startswith("cuda"):
        torch.cuda.synchronize()
    led = result["ledger"]
    return {
        "variant": name,
        "wall_s": time.perf_counter() - t0,
        "train_s": led["wall_seconds"],
        "dense_flops": led["total_flops"],
        "computed_flops": led["computed_flops"],
        "saved_flops": led["saved_flops"],
        "images": led["images"],
        "probes_top1": result["probes_top1"],
        "spfde": spfde.to_dict(),
    }


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
    args = p.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty; pass a fresh --out")
    fs = {"freeze_flops_target": args.freeze_target, "freeze_start": args.freeze_start, "sieve_frac": args.sieve_frac}
    variants = [
        prepare_variant("deps", args),
        prepare_variant("deps+fs", args, **fs),
        prepare_variant("deps+fss", args, **fs, sparsity=args.sparsity, pattern=args.pattern),
    ]
    rows = [run_variant(*v, args) for v in variants]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else _cpu_model()
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
    for col in ("variant", "dense TFLOPs", "computed TFLOPs", "vs deps", "saved (sp/frz/sieve)", "train s", *probes):
        t.add_column(col, justify="right")
    base = rows[0]["computed_flops"]
    for r in rows:
        s = r["saved_flops"]
        saved = "/".join(f"{s.get(k, 0) / 1e12:.3f}" for k in ("sparsity", "freezing", "sieving"))
        t.add_row(
            r["variant"], f"{r['dense_flops'] / 1e12:.3f}", f"{r['computed_flops'] / 1e12:.3f}",
            f"{r['computed_flops'] / base:.2f}x", saved, f"{r['train_s']:.0f}",
            *(f"{r['probes_top1'].get(k, float('nan')):.2f}" for k in probes),
        )  # fmt: skip
    Console().print(t)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
