"""Seconds an export takes on a CPU: BN recalibration in NCHW vs channels_last, and a whole export
with and without the BN-statistics cache.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_export_time.py [--subnets 3] [--reps 3] [--json out.json]

For ``--subnets`` seeded random subnets of the embedded supernet (and its max subnet), BN is
recalibrated on export's 2,000 training images both ways, interleaved ``--reps`` times (CPU time
of the process; the statistics of the two must agree within float noise). Then ``export_bundle``
(ONNX format) runs twice per subnet into a fresh cache: the first recalibrates, the second reads
the cache (wall seconds; the two model.onnx files must be byte-identical).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.transforms import Preprocess
from ofa_edge.export import ExportRequest, export_bundle, get_format
from ofa_edge.export.pipeline import BATCH
from ofa_edge.host import cpu_run_header
from ofa_edge.paths import embedded_supernet
from ofa_edge.supernet.bn_calibration import recalibrate_bn
from ofa_edge.supernet.checkpoint import load_supernet

BN_IMAGES = 2000  # export's default --bn-images


def _recalibrate(model: torch.nn.Module, batches: list[torch.Tensor], fmt: torch.memory_format) -> float:
    """CPU seconds of one recalibration of ``model`` in memory format ``fmt``."""
    model.to(memory_format=fmt)
    t = time.process_time()
    recalibrate_bn(model, (x.contiguous(memory_format=fmt) for x in batches))
    return time.process_time() - t


def _bn_stats(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subnets", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    net = load_supernet(embedded_supernet()).eval()
    space = net.space
    rng = np.random.default_rng(0)
    cfgs = [space.sample(rng) for _ in range(args.subnets)] + [space.max(max(space.resolutions))]
    train = load_dataset(DEFAULT_ROOT, "train", limit=BN_IMAGES, seed=0, size=max(space.resolutions), balanced=False)
    rows = []
    for cfg in cfgs:
        batches = list(Preprocess(cfg.resolution, space.mean, space.std).chunks(train.images, BATCH))
        times: dict[str, list[float]] = {"nchw": [], "channels_last": []}
        stats = {}
        for _ in range(args.reps):
            for name, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
                model = net.extract(cfg).eval()
                times[name].append(_recalibrate(model, batches, fmt))
                stats[name] = _bn_stats(model)
        diff = max((stats["nchw"][k] - stats["channels_last"][k]).abs().max().item() for k in stats["nchw"])
        with tempfile.TemporaryDirectory() as tmp:
            wall = []
            for i in range(2):
                req = ExportRequest(
                    format=get_format("onnx"), subnet=cfg, supernet=embedded_supernet(), out=Path(tmp) / f"b{i}",
                    data=DEFAULT_ROOT, bn_cache=Path(tmp) / "cache",
                )  # fmt: skip
                t = time.perf_counter()
                manifest = export_bundle(req)
                wall.append(time.perf_counter() - t)
                assert manifest["bn_recalibration"]["from_cache"] is (i == 1)
            same = (Path(tmp) / "b0" / "model.onnx").read_bytes() == (Path(tmp) / "b1" / "model.onnx").read_bytes()
        row = {
            "subnet": cfg.describe(),
            "resolution": cfg.resolution,
            "bn_cpu_s_nchw": statistics.median(times["nchw"]),
            "bn_cpu_s_channels_last": statistics.median(times["channels_last"]),
            "bn_speedup": statistics.median(times["nchw"]) / statistics.median(times["channels_last"]),
            "bn_stats_max_abs_diff": diff,
            "export_wall_s_first": wall[0],
            "export_wall_s_cached": wall[1],
            "cached_model_identical": same,
        }
        rows.append(row)
        print(json.dumps(row))
    doc = {
        **cpu_run_header(),
        "bn_images": len(train),
        "rows": rows,
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
