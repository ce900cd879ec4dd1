"""Training-step cost of the weight-shared supernet (issue 3).

Measures, in one process and interleaved so that machine load hits every variant alike:

1. a sandwich step (max, min, 2 random subnets; forward, backward, SGD step) of the dynamic
   supernet versus the same subnets as static extracted modules (sum of their steps; target
   ratio <= 1.15), and versus once-for-all's own OFAMobileNetV3 (PyPI ``ofa``, benchmark-only)
   doing the same step on the same ImageNet-layout architecture (target >= 3x its subnet-images/s);
   on CUDA also with the trainer's ``--cuda-graphs`` (each block variant's forward and backward
   captured once, during the warm-up, then replayed);
2. images/s of the max net (dynamic and static);
3. ``--repro`` (GPU): deps vs ofa vs bignas on CIFAR-10 at the same epoch budget and at the
   paper's epoch ratios: GPU-seconds, training FLOPs and top-1 of min/mid/max after BN recalibration.

    python benchmarks/train_cost.py --device cpu --batch 32 --reps 5
    python benchmarks/train_cost.py --device cuda --batch 256 --reps 20 --repro --epochs 40
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from ofa_edge.errors import UserError
from ofa_edge.host import check_torch_device, cpu_model, resolve_torch_device
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet
from ofa_edge.train.cuda_graphs import GraphedSupernet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], None], device: torch.device) -> float:
    """Seconds ``fn`` takes, the device synchronised before and after."""
    _sync(device)
    t = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t


def _configs(space: SearchSpace, seed: int) -> list[SubnetConfig]:
    rng = np.random.default_rng(seed)
    return [space.max(), space.min(), space.sample(rng), space.sample(rng)]


def dynamic_step(net: Supernet, opt, cfgs, xs, y) -> Callable[[], None]:
    def step() -> None:
        opt.zero_grad(set_to_none=True)
        for cfg, x in zip(cfgs, xs):
            net.set_active(cfg)
            F.cross_entropy(net(x), y).backward()
        opt.step()

    return step


def graphed_step(runner: GraphedSupernet, opt, cfgs, xs, y) -> Callable[[], None]:
    """:func:`dynamic_step` with the stem and blocks replayed from CUDA graphs (the trainer's ``--cuda-graphs``)."""
    net = runner.net

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        runner.zero_grad()
        for cfg, x in zip(cfgs, xs):
            net.set_active(cfg)
            F.cross_entropy(runner(x), y).backward()
        runner.release_unused()
        opt.step()

    return step


def graphed_variant(net: Supernet, cfgs, xs, y) -> tuple[GraphedSupernet | None, Callable[[], None] | None, str]:
    """A CUDA-graph copy of ``net`` and its step, tried once (capturing the variants) before timing.

    Returns (runner, step, "") or, if capture or replay fails, (None, None, the error), so that
    the eager measurements of the same run still come out.
    """
    runner = GraphedSupernet(copy.deepcopy(net).train())
    step = graphed_step(runner, _sgd(runner.net.parameters()), cfgs, xs, y)
    try:
        step()
        torch.cuda.synchronize()
    except RuntimeError as e:
        return None, None, f"{type(e).__name__}: {e}"
    return runner, step, ""


def static_steps(modules, opts, xs, y) -> Callable[[], None]:
    def step() -> None:
        for m, opt, x in zip(modules, opts, xs):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(x), y).backward()
            opt.step()

    return step


def ofa_step(ofa_net, opt, cfgs, x, y) -> Callable[[], None]:
    def step() -> None:
        opt.zero_grad(set_to_none=True)
        for cfg in cfgs:
            ofa_net.set_active_subnet(ks=list(cfg.kernel), e=list(cfg.expand), d=list(cfg.depth))
            F.cross_entropy(ofa_net(x), y).backward()
        opt.step()

    return step


def _sgd(params):
    # foreach: what SGD picks on CUDA by default, here on every device so that CPU op counts match the GPU's
    return torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True, foreach=True)


class _OpCounter(TorchDispatchMode):
    """Counts the aten operators dispatched that are not views (on a GPU, roughly one kernel launch each)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += not func.is_view
        return func(*args, **(kwargs or {}))


def dispatched_ops(fns: dict[str, Callable[[], None]]) -> dict[str, int]:
    """Operators each step launches from Python (after :func:`measure`'s warm-up; CUDA-graph replays count 0)."""
    counts = {}
    for name, fn in fns.items():
        with _OpCounter() as counter:
            fn()
        counts[name] = counter.ops
    return counts


def measure(fns: dict[str, Callable[[], None]], reps: int, warmup: int, device: torch.device) -> dict[str, float]:
    """Median seconds of each function, interleaved rep by rep."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            times[k].append(timed(fn, device))
    return {k: statistics.median(v) for k, v in times.items()}


def step_costs(args, device: torch.device) -> dict:
    space = SearchSpace.get(args.space)
    torch.manual_seed(0)
    net = Supernet(space, 10).to(device).train()
    cfgs = _configs(space, args.seed)
    y = torch.randint(0, 10, (args.batch,), device=device)
    xs = [torch.randn(args.batch, 3, c.resolution, c.resolution, device=device) for c in cfgs]
    statics = [net.extract(c).to(device).train() for c in cfgs]
    fns = {
        "dynamic_sandwich": dynamic_step(net, _sgd(net.parameters()), cfgs, xs, y),
        "static_sandwich_sum": static_steps(statics, [_sgd(m.parameters()) for m in statics], xs, y),
        "dynamic_max": dynamic_step(net, _sgd(net.parameters()), cfgs[:1], xs[:1], y),
        "static_max": static_steps(statics[:1], [_sgd(statics[0].parameters())], xs[:1], y),
    }
    graphs = device.type == "cuda" and args.cuda_graphs
    runner, graphed, error = graphed_variant(net, cfgs, xs, y) if graphs else (None, None, "")
    if graphed is not None:
        fns["graphed_sandwich"] = graphed
    t = measure(fns, args.reps, args.warmup, device)
    out = {
        "space": space.name,
        "subnets": [c.describe() for c in cfgs],
        "seconds": t,
        "dispatched_ops": dispatched_ops(fns),
        "dynamic_over_static": t["dynamic_sandwich"] / t["static_sandwich_sum"],
        "sandwich_subnet_images_per_s": 4 * args.batch / t["dynamic_sandwich"],
        "max_images_per_s": {"dynamic": args.batch / t["dynamic_max"], "static": args.batch / t["static_max"]},
    }
    if runner is not None:
        out["cuda_graphs"] = runner.stats() | {
            "sandwich_subnet_images_per_s": 4 * args.batch / t["graphed_sandwich"],
            "graphed_over_static": t["graphed_sandwich"] / t["static_sandwich_sum"],
        }
    elif error:
        out["cuda_graphs"] = {"error": error}
    return out


def versus_ofa(args, device: torch.device) -> dict:
    """Same step, same architecture (OFA's ImageNet layout), ofa-edge vs once-for-all."""
    try:
        from ofa.imagenet_classification.elastic_nn.networks import OFAMobileNetV3
    except ImportError as e:
        return {"skipped": f"PyPI package 'ofa' not importable ({e}); pip install ofa"}
    space = SearchSpace.get("mbv3-w1.0-imagenet")
    torch.manual_seed(0)
    ours = Supernet(space, 10, dropout=0.0).to(device).train()
    theirs = (
        OFAMobileNetV3(
            n_classes=10,
            dropout_rate=0.0,
            width_mult=1.0,
            ks_list=[3, 5, 7],
            expand_ratio_list=[3, 4, 6],
            depth_list=[2, 3, 4],
        )
        .to(device)
        .train()
    )
    cfgs = _configs(space, args.seed)
    x = torch.randn(args.batch, 3, args.ofa_px, args.ofa_px, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    fns = {
        "ofa_edge": dynamic_step(ours, _sgd(ours.parameters()), cfgs, [x] * 4, y),
        "once_for_all": ofa_step(theirs, _sgd(theirs.parameters()), cfgs, x, y),
    }
    graphs = device.type == "cuda" and args.cuda_graphs
    runner, graphed, error = graphed_variant(ours, cfgs, [x] * 4, y) if graphs else (None, None, "")
    if graphed is not None:
        fns["ofa_edge_cuda_graphs"] = graphed
    t = measure(fns, args.reps, args.warmup, device)
    out = {
        "px": args.ofa_px,
        "dispatched_ops": dispatched_ops(fns),
        "params": {
            "ofa_edge": sum(p.numel() for p in ours.parameters()),
            "once_for_all": sum(p.numel() for p in theirs.parameters()),
        },
        "seconds": t,
        "subnet_images_per_s": {k: 4 * args.batch / v for k, v in t.items()},
        "speedup": t["once_for_all"] / t["ofa_edge"],
    }
    if runner is not None:
        out["speedup_cuda_graphs"] = t["once_for_all"] / t["ofa_edge_cuda_graphs"]
        out["cuda_graphs"] = runner.stats()
    elif error:
        out["cuda_graphs"] = {"error": error}
    return out


def trainer_ops(args) -> dict:
    """Operators a trainer step dispatches beyond the bare step of the same subnets (augmentation,
    losses, in-place KD, ledger), in the full-model phase and in the sandwich phase."""
    import shutil
    import tempfile

    from ofa_edge.train.config import TrainConfig
    from ofa_edge.train.trainer import Trainer

    rows = {}
    for phase, warmup_frac in (("full_model", 0.5), ("sandwich", 0.0)):
        out = tempfile.mkdtemp(prefix="ofa-edge-trainer-ops-")
        try:
            cfg, _ = TrainConfig(
                data=args.data, out=out, method="deps", epochs=2, batch_size=args.batch, warmup_frac=warmup_frac,
                limit_train=4 * args.batch, limit_val=8, probe_every=0, calib_images=8, device=args.device,
            ).resolved()  # fmt: skip
            trainer = Trainer(cfg)
            trainer.open()
            trainer.step(0)  # warm-up (and the epoch's data order)
            with _OpCounter() as counter:
                plan, _ = trainer.step(1)
            cfgs = [j.cfg for j in plan.jobs]
            xs = [torch.randn(args.batch, 3, c.resolution, c.resolution, device=cfg.device) for c in cfgs]
            y = torch.randint(0, 10, (args.batch,), device=cfg.device)
            bare = dynamic_step(trainer.net, trainer.optimizer, cfgs, xs, y)
            bare()
            rows[phase] = {
                "subnets": len(cfgs),
                "trainer_step": counter.ops,
                "bare_step": dispatched_ops({"b": bare})["b"],
            }
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return rows


def reproduction(args) -> dict:
    """deps vs ofa vs bignas at the same epoch budget and at the paper's epoch ratios."""
    from ofa_edge.train.config import TrainConfig
    from ofa_edge.train.trainer import Trainer

    budgets = {"same": {"deps": args.epochs, "ofa": args.epochs, "bignas": args.epochs}}
    # OFA's schedule totals 590 epochs where DεpS's ImageNet schedule has 270 (its lrs_270 table).
    budgets["paper"] = {"deps": args.epochs, "ofa": round(args.epochs * 590 / 270), "bignas": args.epochs}
    runs_of = {(m, e) for epochs in budgets.values() for m, e in epochs.items()}  # deps/bignas: one run for both
    wanted = sorted(k for k in runs_of if not args.only or f"{k[0]}-{k[1]}" == args.only)
    configs = {  # all resolved before any trains: an impossible setting stops the job at once
        (method, e): TrainConfig(
            data=args.data, out=f"{args.runs}/{method}-{e}", method=method, epochs=e, batch_size=args.batch,
            device=args.device, amp=args.amp, probe_every=e, seed=args.seed,  # probes after the last epoch
            limit_train=args.limit_train, limit_val=args.limit_val, cudnn_benchmark=args.cudnn_benchmark,
        ).resolved()[0]
        for method, e in wanted
    }  # fmt: skip
    runs = {key: Trainer(cfg).run(resume=True, show_progress=True) for key, cfg in configs.items()}
    rows = []
    for budget, epochs in budgets.items():
        for method, e in epochs.items():
            if (method, e) not in runs:
                continue
            res = runs[method, e]
            led = res["ledger"]
            rows.append({"budget": budget, "method": method, "epochs": e, "train_seconds": led["wall_seconds"],
                         "train_flops": led["total_flops"], "top1": res["probes_top1"]})  # fmt: skip
    return {"rows": rows}


def parse_device(p: argparse.ArgumentParser, args: argparse.Namespace) -> torch.device:
    """``args.device`` checked and ``auto`` resolved (in ``args`` too): a usage error (exit 2) where it cannot run
    here, such as ``cuda`` on a machine without a GPU, instead of CUDA's traceback at the first tensor."""
    try:
        check_torch_device(args.device)
    except UserError as e:
        p.error(str(e))
    args.device = resolve_torch_device(args.device)
    return torch.device(args.device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--space", default="mbv3-w1.0-cifar")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--ofa-px", type=int, default=32, help="input size of the ofa-edge vs once-for-all step")
    p.add_argument("--no-ofa", action="store_true")
    p.add_argument("--repro", action="store_true", help="run the deps/ofa/bignas reproduction (GPU)")
    p.add_argument("--trainer-ops", action="store_true", help="count the trainer's operators beyond the bare step")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--limit-train", type=int, help="reproduction: train on this many images (default all)")
    p.add_argument("--limit-val", type=int, help="reproduction: top-1 on this many test images (default all)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="reproduction: the trainer's --cudnn-benchmark")
    p.add_argument(
        "--only", metavar="METHOD-EPOCHS", help="reproduction: train this one run (e.g. ofa-13), to run several at once"
    )
    p.add_argument("--data", default=str(__import__("ofa_edge.data", fromlist=["DEFAULT_ROOT"]).DEFAULT_ROOT))
    p.add_argument("--runs", default="ofa-edge-runs/bench")
    p.add_argument("--amp", action="store_true")
    p.add_argument(
        "--no-cuda-graphs", dest="cuda_graphs", action="store_false",
        help="skip the CUDA-graph variants (a failed capture leaves CUDA's RNG unusable for the rest of the run)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    device = parse_device(p, args)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "reps": args.reps,
    }
    if args.repro:  # a job of its own: its training runs may share the GPU, which would spoil the step timings
        try:
            result["reproduction"] = reproduction(args)
        except UserError as e:
            p.error(str(e))
        print(json.dumps(result, indent=2))
        return
    result["steps"] = step_costs(args, device)
    if not args.no_ofa:
        result["versus_once_for_all"] = versus_ofa(args, device)
    if args.trainer_ops:
        result["trainer_ops"] = trainer_ops(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
