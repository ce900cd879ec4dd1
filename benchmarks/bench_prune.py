"""OTO pruning benchmark (issue 8), small scale on CPU.

(a) One subnet pruned with HESSO at the same target by ofa-edge and by only-train-once
    (PyPI, benchmark-only), side by side: MACs, params, top-1, wall time, latency.
(b) The pruned subnet versus a subnet of the supernet with (about) the same MACs trained
    the same number of epochs: top-1 and ONNX Runtime latency.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_prune.py --epochs 2 --limit-train 1000

only-train-once 3.0.1 does not import on torch >= 2.9 as published (it imports
``torch.onnx._globals`` and calls ``torch.onnx._optimize_graph``, both moved into
``torch.onnx._internal.torchscript_exporter``) and its HESSO calls ``.cuda()``
unconditionally. This script aliases the moved modules and makes ``Tensor.cuda`` a no-op
for the OTO run only; the report says so.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from ofa_edge.data import DEFAULT_ROOT, load_packed
from ofa_edge.data.transforms import Preprocess
from ofa_edge.paths import pretrained_dir
from ofa_edge.prune import HESSO, partition
from ofa_edge.prune.measure import count_macs, count_params, onnx_bytes, ort_latency
from ofa_edge.prune.run import PruneSettings, make_optimizer, slim_and_check
from ofa_edge.prune.train import epoch_losses, evaluate, steps_per_epoch
from ofa_edge.space import CostModel, SearchSpace, SubnetConfig
from ofa_edge.space.genome import decode, sample
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, BN_IMAGES, recalibrate_bn
from ofa_edge.supernet.checkpoint import load_supernet

SPACE = "mbv3-w1.0-cifar"


def _supernet(space: SearchSpace) -> tuple[Supernet, str]:
    ckpt = pretrained_dir() / "supernet.safetensors"
    if ckpt.is_file():
        return load_supernet(ckpt), f"pretrained {ckpt}"
    torch.manual_seed(0)
    return Supernet(space, 10), "random init (no pretrained supernet in this checkout): every net trains from scratch"


def _nearest(
    space: SearchSpace, cost: CostModel, macs: float, resolution: int, rng: np.random.Generator
) -> SubnetConfig:
    """The random-sampled subnet at ``resolution`` whose MACs are closest to ``macs``."""
    genomes = sample(space, 20000, rng)
    genomes[:, 0] = space.resolutions.index(resolution)
    m = cost.macs(genomes)
    return decode(space, genomes[[int(np.argmin(np.abs(m - macs)))]])[0]


def _cosine(opt: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * min(k, total) / total)))


def _train(model, opt, train, prep, s: PruneSettings) -> tuple[float, list[float]]:
    """Wall seconds of training and the mean training loss of every epoch."""
    total = s.epochs * steps_per_epoch(len(train), s.batch_size)
    sched = _cosine(opt, total)
    gen = torch.Generator().manual_seed(s.seed)
    t0 = time.perf_counter()
    losses = []
    for _ in range(s.epochs):
        loss_sum, images = 0.0, 0
        for loss, n in epoch_losses(model, opt, train, prep, s.batch_size, gen):  # ofa-edge prune's loop
            sched.step()
            loss_sum, images = loss_sum + loss * n, images + n
        losses.append(loss_sum / images)
    return time.perf_counter() - t0, losses


def _top1(model, test, prep: Preprocess) -> float:
    """Top-1 (%) as ``ofa-edge prune`` scores its networks."""
    return evaluate(model, test, SearchSpace.get(SPACE), prep.resolution)


def _costs(model, example, test, prep, tmp: Path, name: str) -> dict:
    """Top-1, MACs, params; the ONNX file is written now and timed later, interleaved."""
    (tmp / f"{name}.onnx").write_bytes(onnx_bytes(model, example.shape[-1]))
    return {
        "top1": _top1(model, test, prep),
        "macs": count_macs(model, example),
        "params": count_params(model),
        "resolution": int(example.shape[-1]),
        "onnx": name,
    }


def _interleaved_latency(tmp: Path, examples: dict[str, torch.Tensor], rounds: int = 5) -> dict[str, dict]:
    """Batch-1 latency of each model, timed in turn for several rounds so that load from
    other processes on the shared machine hits all of them alike: the median over rounds of
    each round's median, and the minimum and 10th percentile over all runs."""
    per: dict[str, list[dict]] = {n: [] for n in examples}
    for _ in range(rounds):
        for n, example in examples.items():
            per[n].append(ort_latency(tmp / f"{n}.onnx", example, runs=100))
    return {
        n: {
            "median_ms": float(np.median([r["median_ms"] for r in v])),
            "p10_ms": float(np.median([r["p10_ms"] for r in v])),
            "min_ms": float(min(r["min_ms"] for r in v)),
            "clock": v[0]["clock"],
        }
        for n, v in per.items()
    }


def run_ours(base, train, test, prep, s: PruneSettings, example, tmp: Path) -> dict:
    model = copy.deepcopy(base)
    t0 = time.perf_counter()
    part = partition(model, example[:1])
    t_part = time.perf_counter() - t0
    total = s.epochs * steps_per_epoch(len(train), s.batch_size)
    opt = make_optimizer(part, s, total)
    t_train, losses = _train(model, opt, train, prep, s)
    t0 = time.perf_counter()
    small, diff = slim_and_check(model, part, prep(test.images[:16]))
    t_slim = time.perf_counter() - t0
    return {
        "groups": part.num_groups,
        "zero_groups": int(part.zero_mask().sum()),
        "partition_s": t_part,
        "train_s": t_train,
        "epoch_losses": losses,
        "slim_s": t_slim,
        "slim_max_abs_diff": diff,
        **_costs(small, example, test, prep, tmp, "ours"),
    }


def _import_oto():
    import torch.onnx._internal.torchscript_exporter._globals as moved_globals
    import torch.onnx._internal.torchscript_exporter.utils as moved_utils

    sys.modules.setdefault("torch.onnx._globals", moved_globals)
    torch.onnx._optimize_graph = moved_utils._optimize_graph
    from only_train_once import OTO

    return OTO


def run_oto(base, train, test, prep, s: PruneSettings, example, tmp: Path) -> dict:
    try:
        OTO = _import_oto()
    except Exception as e:  # noqa: BLE001 - report exactly why the peer cannot run
        return {"error": f"only-train-once import failed: {type(e).__name__}: {e}"}
    import importlib.metadata

    model = copy.deepcopy(base)
    total = s.epochs * steps_per_epoch(len(train), s.batch_size)
    start = int(s.start_frac * total)
    prune_steps = min(max(int(s.prune_frac * total), 1), total - start)
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self  # OTO 3.0.1's HESSO hard-codes .cuda()
    try:
        t0 = time.perf_counter()
        oto = OTO(model=model, dummy_input=example[:1])
        t_part = time.perf_counter() - t0
        opt = oto.hesso(
            variant="sgd",
            lr=s.lr,
            first_momentum=s.momentum,
            weight_decay=s.weight_decay,
            target_group_sparsity=s.target_sparsity,
            start_pruning_step=start,
            pruning_steps=prune_steps,
            pruning_periods=min(s.periods, prune_steps),
        )
        t_train, losses = _train(model, opt, train, prep, s)
        _, _, zero_groups = opt.compute_group_sparsity_param_norm()
        sparse_top1 = _top1(model, test, prep)
        ours_view = partition(model, example[:1])  # our ZIGs, to see whether whole layers were zeroed
        zero = ours_view.zero_mask()
        empty = [sp.tensors[0] for sp in ours_view.spaces if bool(zero[sp.offset : sp.offset + sp.size].all())]
        t0 = time.perf_counter()
        oto.construct_subnet(out_dir=str(tmp / "oto"))
        t_slim = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001
        return {"error": f"only-train-once failed on the subnet: {type(e).__name__}: {e}"}
    finally:
        torch.Tensor.cuda = cuda
    small = torch.load(oto.compressed_model_path, weights_only=False).eval()  # OTO's own pickle, made here
    with torch.no_grad():
        probe = prep(test.images[:16])
        diff = float((small(probe) - model.eval()(probe)).abs().max())
    return {
        "version": importlib.metadata.version("only_train_once"),
        "groups": opt.total_num_groups,
        "zero_groups": int(zero_groups),
        "partition_s": t_part,
        "train_s": t_train,
        "epoch_losses": losses,
        "slim_s": t_slim,
        "slim_max_abs_diff": diff,
        "top1_group_sparse_model": sparse_top1,
        "channel_spaces_all_zero": empty,
        **_costs(small, example, test, prep, tmp, "oto"),
    }


def step_overhead(base, example: torch.Tensor, steps: int = 30, rounds: int = 3) -> dict:
    """Optimizer cost alone: ms per ``step()`` of our HESSO and OTO's on the same subnet with
    the same random gradients, timed in alternating blocks (the pruning window covers every
    step, so importance scoring and group fading are included)."""
    OTO = _import_oto()
    ours_model, oto_model = copy.deepcopy(base), copy.deepcopy(base)
    ours = HESSO(partition(ours_model, example[:1]), lr=0.01, target_sparsity=0.5, pruning_steps=steps, periods=3)
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        oto = OTO(model=oto_model, dummy_input=example[:1]).hesso(
            variant="sgd", lr=0.01, first_momentum=0.9, target_group_sparsity=0.5, start_pruning_step=0,
            pruning_steps=steps, pruning_periods=3,
        )  # fmt: skip
        gen = torch.Generator().manual_seed(0)
        grads = [{n: torch.randn(p.shape, generator=gen) * 1e-2 for n, p in base.named_parameters()} for _ in range(4)]
        times: dict[str, list[float]] = {"ofa_edge": [], "only_train_once": []}
        for r in range(rounds * steps // 10):
            for name, model, opt in (("ofa_edge", ours_model, ours), ("only_train_once", oto_model, oto)):
                for k in range(10):
                    for n, p in model.named_parameters():
                        p.grad = grads[(r + k) % 4][n].clone()
                    t0 = time.perf_counter()
                    opt.step()
                    times[name].append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.Tensor.cuda = cuda
    return {
        k: {"median_ms": float(np.median(v)), "min_ms": float(np.min(v)), "steps": len(v)} for k, v in times.items()
    }


def _searched(macs: float, tmp: Path) -> SubnetConfig:
    """The subnet ``ofa-edge search --flops`` picks at ``macs`` (embedded supernet and predictor)."""
    from ofa_edge.cli.app import main as cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli(["search", "--flops", f"{macs / 1e6:.2f}M", "--out", str(tmp / "search"), "--json"])
    if code != 0:
        raise SystemExit(f"ofa-edge search failed with exit code {code}")
    return SubnetConfig.from_dict(json.loads(buf.getvalue())["subnet"])


def run_small_subnet(
    net: Supernet, cfg: SubnetConfig, train, test, prep, s: PruneSettings, example, tmp: Path, name: str = "small"
) -> dict:
    model = net.extract(cfg)
    recalibrate_bn(model, prep.chunks(train.shuffled(0).images[:BN_IMAGES], BN_CALIB_BATCH))
    top1_as_extracted = _top1(model, test, prep)  # a trained supernet's subnet needs no training
    opt = torch.optim.SGD(model.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
    t_train, losses = _train(model, opt, train, prep, s)
    return {
        "subnet": cfg.to_dict(),
        "describe": cfg.describe(),
        "top1_as_extracted": top1_as_extracted,
        "train_s": t_train,
        "epoch_losses": losses,
        **_costs(model, example, test, prep, tmp, name),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=1000)
    ap.add_argument("--limit-test", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--target", type=float, default=0.5)
    ap.add_argument("--resolution", type=int, default=24)
    ap.add_argument("--subnet-macs", type=float, default=50e6, help="MACs of the subnet to prune (nearest sample)")
    ap.add_argument("--onnx-dir", type=Path, default=None, help="keep the ONNX files here (default: temporary)")
    ap.add_argument("--runs", default="ours,oto,small,searched", help="which of ours,oto,small,searched to run")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_prune.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    space = SearchSpace.get(SPACE)
    cost = CostModel(space, 10)
    rng = np.random.default_rng(0)
    net, origin = _supernet(space)
    cfg = _nearest(space, cost, args.subnet_macs, args.resolution, rng)
    train = load_packed(DEFAULT_ROOT, "train", limit=args.limit_train, seed=0)
    test = load_packed(DEFAULT_ROOT, "test", limit=args.limit_test, seed=0)
    prep = Preprocess(cfg.resolution, space.mean, space.std)
    example = prep(test.images[:2])
    s = PruneSettings(method="hesso", target_sparsity=args.target, epochs=args.epochs, batch_size=args.batch_size)
    base = net.extract(cfg)
    recalibrate_bn(base, prep.chunks(train.shuffled(0).images[:BN_IMAGES], BN_CALIB_BATCH))
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = args.onnx_dir or Path(tmp_s)
        tmp.mkdir(parents=True, exist_ok=True)
        unpruned = _costs(base, example, test, prep, tmp, "base")
        print("unpruned", unpruned, file=sys.stderr, flush=True)
        runs = set(args.runs.split(","))
        ours = run_ours(base, train, test, prep, s, example, tmp) if "ours" in runs else {}
        print("ours", ours, file=sys.stderr, flush=True)
        oto = run_oto(base, train, test, prep, s, example, tmp) if "oto" in runs else {}
        print("oto", oto, file=sys.stderr, flush=True)
        overhead = step_overhead(base, example) if "overhead" in runs else {}
        print("overhead", overhead, file=sys.stderr, flush=True)
        small, searched = {}, {}
        if "small" in runs and ours:
            small_cfg = _nearest(space, cost, ours["macs"], args.resolution, rng)
            small = run_small_subnet(net, small_cfg, train, test, prep, s, example, tmp)
        print("small", small, file=sys.stderr, flush=True)
        if "searched" in runs and ours:
            found = _searched(ours["macs"], tmp)
            searched = run_small_subnet(net, found, train, test, Preprocess(found.resolution, space.mean, space.std), s,
                                        Preprocess(found.resolution, space.mean, space.std)(test.images[:2]), tmp, "searched")  # fmt: skip
        print("searched", searched, file=sys.stderr, flush=True)
        results = [r for r in (unpruned, ours, oto, small, searched) if "onnx" in r]
        lat = _interleaved_latency(
            tmp, {r["onnx"]: torch.zeros(1, 3, r["resolution"], r["resolution"]) for r in results}
        )
        for r in results:
            r["ort_cpu_b1"] = lat[r.pop("onnx")]
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model_name = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("Model name")), "?")
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": model_name,
            "torch_threads": torch.get_num_threads(),
            "nproc": __import__("os").cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "command": " ".join(sys.argv),
        "supernet": origin,
        "subnet": cfg.to_dict(),
        "subnet_describe": cfg.describe(),
        "settings": vars(args)
        | {
            "lr": s.lr,
            "momentum": s.momentum,
            "weight_decay": s.weight_decay,
            "start_frac": s.start_frac,
            "prune_frac": s.prune_frac,
            "periods": s.periods,
        },
        "unpruned": unpruned,
        "ofa_edge_hesso": ours,
        "only_train_once_hesso": oto,
        "same_macs_subnet": small,
        "searched_same_macs_subnet": searched,
        "optimizer_step_overhead": overhead,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(json.dumps(doc, indent=2, default=str))


if __name__ == "__main__":
    main()
