"""What a GPU pays the first time it meets a layer shape, and which convolution setting cuts it.

On an H100 every training process paid minutes before its steps ran at full speed: the SpFDE
benchmark's first variant took 274 s where the next two, in the same process, took 44-45 s, and
the embedded supernet's first sandwich epoch ran at 444 img/s against 1,290 later. A supernet
meets hundreds of layer shapes (block x kernel x width x resolution, forward and two backward
convolutions each), and cuDNN plans each one the first time. This script measures that cost per
subnet and what each setting does to it and to the steady step time, each setting in a fresh
process (cuDNN's caches live as long as the process):

- ``cudnn``: PyTorch's default (cuDNN heuristics, no autotuning; the trainer's default);
- ``cudnn-benchmark``: cuDNN times its algorithms for each new shape (``--cudnn-benchmark``);
- ``no-cudnn-depthwise``: depthwise convolutions in PyTorch's own kernels, the rest in cuDNN;
- ``no-cudnn``: every convolution in PyTorch's own kernels;
- ``cudnn-eager-modules``: the default with ``CUDA_MODULE_LOADING=EAGER`` (all kernels loaded at start).

For ``--subnets`` random subnets (fresh shapes), one train step (forward, backward) each: the
first time and again; then the median of ``--reps`` repeats of a fixed 4-subnet sandwich step.

    python benchmarks/shape_cost.py --device cuda --batch 512 --subnets 40 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from train_cost import parse_device, timed  # benchmarks/ is the script's folder

from ofa_edge.data.transforms import resize
from ofa_edge.io import atomic_write_json
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet

SETTINGS = ("cudnn", "cudnn-benchmark", "no-cudnn-depthwise", "no-cudnn", "cudnn-eager-modules")


def _apply(setting: str) -> None:
    torch.backends.cudnn.benchmark = setting == "cudnn-benchmark"
    torch.backends.cudnn.enabled = setting != "no-cudnn"
    if setting == "no-cudnn-depthwise":
        conv2d = F.conv2d

        def routed(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
            if groups == 1:
                return conv2d(x, weight, bias, stride, padding, dilation, groups)
            with torch.backends.cudnn.flags(enabled=False):
                return conv2d(x, weight, bias, stride, padding, dilation, groups)

        F.conv2d = routed  # the supernet's blocks call F.conv2d at run time


def _step(net: Supernet, cfg, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    def forward_backward() -> None:
        net.set_active(cfg)
        F.cross_entropy(net(resize(x, cfg.resolution)), y).backward()

    return timed(forward_backward, device)


def run_setting(args: argparse.Namespace) -> dict:
    """One setting, in this process."""
    _apply(args.setting)
    device = torch.device(args.device)
    space = SearchSpace.get(args.space)
    torch.manual_seed(0)
    net = Supernet(space, 10).to(device).train()
    x = torch.randn(args.batch, 3, max(space.resolutions), max(space.resolutions), device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    t0 = time.perf_counter()
    _step(net, space.max(), x, y, device)  # context, allocator, the max net's shapes
    startup = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    cfgs = [space.sample(rng) for _ in range(args.subnets)]
    first = [_step(net, c, x, y, device) for c in cfgs]
    again = [_step(net, c, x, y, device) for c in cfgs]
    sandwich = [space.max(), space.min(), *cfgs[:2]]
    steps = [sum(_step(net, c, x, y, device) for c in sandwich) for _ in range(args.reps)]
    return {
        "setting": args.setting,
        "first_step_s": startup,
        "new_subnet_first_s": {"median": statistics.median(first), "max": max(first), "sum": sum(first)},
        "new_subnet_again_s": {"median": statistics.median(again), "sum": sum(again)},
        "meeting_cost_per_subnet_s": statistics.median(a - b for a, b in zip(first, again, strict=True)),
        "sandwich_step_s": statistics.median(steps),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--space", default="mbv3-w1.0-cifar")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--subnets", type=int, default=40)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    p.add_argument("--setting", help=argparse.SUPPRESS)  # the child process's one setting
    p.add_argument("--json", help="write the result document here")
    args = p.parse_args()
    parse_device(p, args)
    if args.setting:
        print(json.dumps(run_setting(args)))
        return
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    doc = {
        "device": device, "torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
        "batch": args.batch, "subnets": args.subnets, "rows": [],
    }  # fmt: skip
    for setting in args.settings.split(","):
        env = {**os.environ, "CUDA_MODULE_LOADING": "EAGER" if setting == "cudnn-eager-modules" else "LAZY"}
        cmd = [sys.executable, __file__, "--setting", setting, *sys.argv[1:]]
        t = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t
        if proc.returncode:
            row = {"setting": setting, "error": proc.stderr.strip().splitlines()[-1:]}
            print(f"{setting:<20} failed: {row['error']}", flush=True)
        else:
            row = json.loads(proc.stdout.strip().splitlines()[-1]) | {"process_wall_s": wall}
            print(
                f"{setting:<20} new subnet {row['new_subnet_first_s']['median']:.3f} s first, "
                f"{row['new_subnet_again_s']['median']:.3f} s again; sandwich step {row['sandwich_step_s']:.3f} s; "
                f"process {wall:.1f} s",
                flush=True,
            )
        doc["rows"].append(row)
        if args.json:  # after every setting: a run cut short keeps what it measured
            atomic_write_json(Path(args.json), doc)


if __name__ == "__main__":
    main()
