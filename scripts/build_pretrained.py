"""Package a finished `ofa-edge train` run as the embedded pretrained supernet.

    python scripts/build_pretrained.py RUN_DIR [--subnets 400] [--note TEXT]

Writes into ``ofa_edge/pretrained/``: ``supernet.safetensors`` (FP16 weights, training
provenance in its header), the run's training log, cost ledger and config, and the accuracy
predictor data (``supernet.accuracy.json`` measured subnets, ``supernet.predictor.safetensors``)
that ``ofa-edge search`` reuses. Then evaluates the probe subnets with the exact settings
recorded in ``model_card.json``: on the whole CIFAR-10 test split (the model card's numbers) and
on a 2,000-image subset (what ``tests/test_pretrained.py`` reproduces on a CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
from pathlib import Path

import torch

from ofa_edge.cli.app import main as cli
from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.io import atomic_write_json
from ofa_edge.paths import pretrained_dir
from ofa_edge.search.accuracy import MeasureSettings, predictor_for
from ofa_edge.supernet.checkpoint import load_supernet, save_supernet

# The probe evaluations: the model card's (whole test split) and the test suite's subset (min subnet, CPU).
EVAL = {"split": "test", "limit": None, "calib_images": 2000}
CI_EVAL = {"split": "test", "limit": 2000, "calib_images": 500, "device": "cpu"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--subnets", type=int, default=400, help="subnets measured for the accuracy predictor")
    ap.add_argument("--note", default="", help="free text stored in the checkpoint metadata")
    args = ap.parse_args()

    # Built in a fresh folder beside the run (the package's folder is read-only to the library: it would
    # write the predictor and accuracies to your data folder), then copied into the package.
    stage, dest = args.run_dir / "embedded", pretrained_dir()
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    net = load_supernet(args.run_dir / "supernet.safetensors")
    meta = dict(net.metadata)
    meta.pop("format", None)
    meta["embedded"] = {"source_run": str(args.run_dir), "weights_dtype": "float16", "note": args.note}
    ckpt = stage / "supernet.safetensors"
    save_supernet(net, ckpt, meta, dtype=torch.float16)
    for src, name in (
        ("metrics.jsonl", "training_log.jsonl"),
        ("ledger.json", "ledger.json"),
        ("config.json", "train_config.json"),
    ):
        if (args.run_dir / src).is_file():
            shutil.copyfile(args.run_dir / src, stage / name)

    settings = MeasureSettings(n_val=5000, n_calib=500, batch_size=500)  # label noise about ±0.6 pt
    _, info = predictor_for(ckpt, DEFAULT_ROOT, args.subnets, settings=settings)
    card = {
        "eval": EVAL,
        "probes": probe_eval(ckpt, EVAL),
        "ci_eval": CI_EVAL,
        "ci_probes": probe_eval(ckpt, CI_EVAL),
        "predictor": {k: v for k, v in info.items() if k != "cache"}
        | {"predictor": str(dest / Path(info["predictor"]).name)},
    }
    atomic_write_json(stage / "model_card.json", card)
    dest.mkdir(parents=True, exist_ok=True)
    for f in stage.iterdir():
        shutil.copyfile(f, dest / f.name)
    print(json.dumps(card, indent=2, default=str))


def probe_eval(ckpt: Path, ev: dict) -> dict:
    """``ofa-edge eval --probes`` with the settings ``ev``; its JSON document."""
    argv = [
        "eval",
        "--supernet",
        str(ckpt),
        "--probes",
        "--split",
        ev["split"],
        "--bn-images",
        str(ev["calib_images"]),
    ]
    if ev["limit"] is not None:
        argv += ["--limit", str(ev["limit"])]
    if "device" in ev:
        argv += ["--device", ev["device"]]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli([*argv, "--json"])
    if code != 0:
        raise SystemExit(f"ofa-edge eval failed with exit code {code}")
    return json.loads(buf.getvalue())


if __name__ == "__main__":
    main()
