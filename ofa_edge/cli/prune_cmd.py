"""``ofa-edge prune``: OTO one-shot structured pruning of a subnet (HSPG or HESSO)."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, SeedOpt, emit, err, note, out, warn
from ofa_edge.errors import UserError
from ofa_edge.paths import pretrained_dir, work_dir


class Method(str, Enum):
    hspg = "hspg"
    hesso = "hesso"


def prune(
    subnet: Annotated[Path, typer.Option(help="Subnet JSON (ofa-edge or once-for-all arch dict).")],
    target_sparsity: Annotated[float, typer.Option(help="Fraction of zero-invariant groups to remove, in (0, 1).")],
    method: Annotated[Method, typer.Option(help="hesso (target-driven) or hspg (group-lasso + half-space).")] = Method.hesso,
    epochs: Annotated[int, typer.Option(help="Training epochs while pruning.")] = 10,
    supernet: Annotated[Path | None, typer.Option(help="Supernet checkpoint; default: the embedded one.")] = None,
    data: Annotated[Path | None, typer.Option(help="Packed CIFAR-10 folder; default: the shared copy.")] = None,
    limit_train: Annotated[int, typer.Option(help="Use a class-balanced subset of N training images (0 = all).")] = 0,
    limit_test: Annotated[int, typer.Option(help="Evaluate on N test images (0 = all).")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine schedule).")] = 0.05,
    lam: Annotated[float, typer.Option(help="HSPG group-lasso weight lambda.")] = 1e-3,
    epsilon: Annotated[float, typer.Option(help="HSPG half-space epsilon in [0, 1).")] = 0.0,
    periods: Annotated[int, typer.Option(help="HESSO pruning periods.")] = 5,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder; default ofa-edge-runs/prune/<subnet>-<method>.")] = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train and prune a subnet in one shot; write the slim network (safetensors + JSON + ONNX)."""
    if not 0.0 < target_sparsity < 1.0:
        raise UserError(f"--target-sparsity must lie strictly between 0 and 1, got {target_sparsity}; e.g. 0.5.")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise UserError("--epochs and --batch-size must be at least 1 and --lr positive.")
    if not 0.0 <= epsilon < 1.0:
        raise UserError(f"--epsilon must lie in [0, 1), got {epsilon}.")
    if periods < 1:
        raise UserError(f"--periods must be at least 1, got {periods}.")
    ckpt = supernet or pretrained_dir() / "supernet.safetensors"
    if supernet is None:
        if not ckpt.is_file():
            raise UserError(
                f"no embedded pretrained supernet at '{ckpt}' in this install; pass --supernet PATH to a "
                "supernet checkpoint (train one with `ofa-edge train`)."
            )
        note(f"supernet: embedded default {ckpt}")
    from ofa_edge.data import DEFAULT_ROOT

    data_root = data or DEFAULT_ROOT
    if data is None:
        note(f"data: {data_root}")
    out_dir = out_dir or work_dir() / "prune" / f"{subnet.stem}-{method.value}"
    if out_dir == work_dir() / "prune" / f"{subnet.stem}-{method.value}":
        note(f"output folder: {out_dir}")
    result = run_prune(
        subnet, ckpt, data_root, out_dir, method.value, target_sparsity, epochs, limit_train, limit_test,
        {"batch_size": batch_size, "lr": lr, "lam": lam, "epsilon": epsilon, "periods": periods, "seed": seed},
    )  # fmt: skip
    emit(result, as_json, lambda: _render(result))


def run_prune(
    subnet: Path, ckpt: Path, data_root: Path, out_dir: Path, method: str, target: float, epochs: int,
    limit_train: int, limit_test: int, hparams: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Load, calibrate, prune, slim, measure and save; returns the result document."""
    import torch

    from ofa_edge.data import load_packed
    from ofa_edge.io import atomic_write_json
    from ofa_edge.prune import partition, save_slim
    from ofa_edge.prune.measure import count_macs, count_params, export_onnx, ort_latency, verify_onnx
    from ofa_edge.prune.run import PruneSettings, slim_and_check, train_and_prune
    from ofa_edge.prune.train import Preprocess, evaluate
    from ofa_edge.space import SubnetConfig
    from ofa_edge.supernet.bn_calibration import recalibrate_bn
    from ofa_edge.supernet.checkpoint import load_supernet

    torch.manual_seed(hparams["seed"])
    cfg = SubnetConfig.load(subnet)
    net = load_supernet(ckpt)
    if cfg.space != net.space.name:
        raise UserError(f"subnet '{subnet}' is for space '{cfg.space}' but the supernet is '{net.space.name}'.")
    model = net.extract(cfg)
    del net
    train = load_packed(data_root, "train", limit=limit_train or None, seed=hparams["seed"])
    test = load_packed(data_root, "test", limit=limit_test or None, seed=0)
    if len(train.classes) != model.head.classifier.out_features:
        raise UserError(
            f"the data has {len(train.classes)} classes but the supernet's classifier has "
            f"{model.head.classifier.out_features}; use data of the supernet's task."
        )
    sp = cfg.search_space
    prep = Preprocess(cfg.resolution, sp.mean, sp.std)
    s = PruneSettings(method=method, target_sparsity=target, epochs=epochs, **hparams)
    note(f"subnet {cfg.describe()}; {len(train)} train / {len(test)} test images; settings {s}")
    recalibrate_bn(model, (prep(b) for b in train.images[:512].split(128)))
    example = prep(test.images[:2])
    out_dir.mkdir(parents=True, exist_ok=True)
    before = {"top1": evaluate(model, test, prep), "macs": count_macs(model, example), "params": count_params(model)}
    with tempfile.TemporaryDirectory() as tmp:
        before["latency_ort_cpu"] = ort_latency(export_onnx(model, example, Path(tmp) / "base.onnx"), example)

    part = partition(model, example[:1])
    note(f"ZIG partition: {part.num_groups} groups in {len(part.spaces)} channel spaces")
    with Progress(TextColumn("prune"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=err) as bar:  # fmt: skip
        task = bar.add_task("", total=None)

        def on_step(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, total=total, description=f"loss {loss:.3f}")

        trained = train_and_prune(model, part, train, prep, s, out_dir / "checkpoint.safetensors", on_step)
    if trained["resumed_at_epoch"]:
        note(f"resumed from epoch {trained['resumed_at_epoch']} of {out_dir / 'checkpoint.safetensors'}")
    zero = part.zero_mask()
    small, diff = slim_and_check(model, part, prep(test.images[:16]))
    sparse_top1 = evaluate(model, test, prep)
    after = {"top1": evaluate(small, test, prep), "macs": count_macs(small, example), "params": count_params(small)}
    onnx_path = export_onnx(small, example, out_dir / "model.onnx")
    onnx_diff = verify_onnx(onnx_path, small, example)
    after["latency_ort_cpu"] = ort_latency(onnx_path, example)
    group_sparsity = float(zero.float().mean())
    if group_sparsity + 1e-9 < int(target * part.num_groups) / part.num_groups:
        warn(f"reached group sparsity {group_sparsity:.3f} < target {target}; raise --lam (hspg) or --epochs.")
    base = {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": len(train.classes)}
    extra = {"preprocessing": {"resolution": cfg.resolution, "mean": list(sp.mean), "std": list(sp.std)},
             "classes": train.classes, "onnx": "model.onnx"}  # fmt: skip
    save_slim(small, out_dir, base, extra)
    cfg.save(out_dir / "subnet.json")
    result = {
        "method": method,
        "subnet": cfg.to_dict(),
        "supernet": str(ckpt),
        "settings": asdict(s),
        "data": {"root": str(data_root), "train_images": len(train), "test_images": len(test)},
        "groups": part.num_groups,
        "zero_groups": int(zero.sum()),
        "group_sparsity": group_sparsity,
        "target_sparsity": target,
        "before": before,
        "after": {**after, "top1_group_sparse_model": sparse_top1},
        "slim_max_abs_diff": diff,
        "onnx_max_abs_diff": onnx_diff,
        "predicted_latency": None,
        "predicted_latency_note": "no latency-table API in this install; measured ONNX Runtime CPU latency reported",
        "train": trained,
        "out_dir": str(out_dir),
        "files": {k: str(out_dir / k) for k in ("slim.json", "slim.safetensors", "model.onnx", "subnet.json")},
    }
    atomic_write_json(out_dir / "result.json", result)
    return result


def _render(r: dict[str, Any]) -> None:
    t = Table(title=f"ofa-edge prune ({r['method']}, {r['zero_groups']}/{r['groups']} groups removed)")
    for col in ("", "top-1", "MACs", "params", "ORT CPU latency (b1)"):
        t.add_column(col)
    for name in ("before", "after"):
        m = r[name]
        lat = m["latency_ort_cpu"]
        t.add_row(name, f"{m['top1'] * 100:.2f}%", f"{m['macs'] / 1e6:.2f}M", f"{m['params'] / 1e6:.3f}M",
                  f"{lat['median_ms']:.3f} ms")  # fmt: skip
    out.print(t)
    out.print(f"group sparsity {r['group_sparsity']:.3f} (target {r['target_sparsity']}); "
              f"slim vs group-sparse max |diff| {r['slim_max_abs_diff']:.2e}; ONNX vs torch {r['onnx_max_abs_diff']:.2e}")  # fmt: skip
    out.print(f"wrote {r['out_dir']}: slim.json, slim.safetensors, model.onnx, result.json")


def register(app: typer.Typer) -> None:
    app.command("prune")(prune)
