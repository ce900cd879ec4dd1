"""Prune a subnet of a supernet end to end: extract, calibrate, measure, prune, slim, save.

This is what ``ofa-edge prune`` runs; the CLI only parses options and draws progress.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ofa_edge.data import ImageSet
from ofa_edge.data.classes import require_num_classes, require_same_classes
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.formats import detect_format
from ofa_edge.data.transforms import Preprocess
from ofa_edge.errors import UserError, option_name, require_instance
from ofa_edge.export.verify import verify
from ofa_edge.io import atomic_write_bytes, atomic_write_json, check_output_folder, hold_lock, made_folder, staged_dir
from ofa_edge.latency.device_timer import DeviceTimer
from ofa_edge.latency.devices import LOCAL_DEVICE
from ofa_edge.latency.table import LatencyTable
from ofa_edge.prune.measure import count_macs, count_params, onnx_bytes, ort_latency
from ofa_edge.prune.predict import predict_slim_latency
from ofa_edge.prune.run import PruneSettings, run_identity, slim_and_check, train_and_prune
from ofa_edge.prune.slim import save_slim
from ofa_edge.prune.train import evaluate
from ofa_edge.prune.zig import partition
from ofa_edge.space import SubnetConfig
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, BN_IMAGES, recalibrate_bn
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.metadata import read_metadata, trained_on

CHECKPOINT = "checkpoint.safetensors"  # the resume state: removed when the run completes, unless kept
PRUNE_FILES = ("result.json", CHECKPOINT, "slim.json")  # a folder with one of them is prune's own
PRUNE_OUTPUTS = ("model.onnx", "slim.json", "slim.safetensors", "subnet.json", "result.json")  # written together


def default_out_name(stem: str, cfg: SubnetConfig, settings: PruneSettings) -> str:
    """``<stem>-<subnet id>-<method>-s<target>``, ``stem`` the subnet file's (``subnet`` for a search's own,
    which every search writes as subnet.json): a prune of another file or at another target gets a folder of
    its own instead of replacing this one."""
    return f"{stem}-{cfg.short_id()}-{settings.method}-s{settings.target_sparsity:g}"


def check_prune_inputs(cfg: SubnetConfig, metadata: dict[str, Any], out_dir: Path, data_root: Path) -> Path:
    """The output folder (absolute), or a :class:`UserError` before any work: a subnet of another space than
    the supernet's (its ``metadata``: :func:`~ofa_edge.supernet.metadata.read_metadata`), a folder that cannot
    take a prune's outputs, data that is not a dataset."""
    out_dir = check_output_folder(out_dir, PRUNE_FILES, "a prune output folder", replaced=True)
    space = metadata["space"]
    if cfg.space != space:
        raise UserError(
            f"subnet {cfg.short_id()} is for space '{cfg.space}' but the supernet is '{space}'; pass a subnet of "
            f"'{space}' (`ofa-edge search` with this supernet writes one) or a supernet trained on '{cfg.space}' "
            "(--supernet)."
        )
    detect_format(Path(data_root))
    return out_dir


def _replaced_run_note(out_dir: Path) -> str | None:
    """What a run into ``out_dir`` replaces once it completes: the earlier run's results there (its method and
    target, as its result.json says); ``None`` where there are none."""
    try:
        old = json.loads((out_dir / "result.json").read_text())
        earlier = f" ({old['method']}, target {old['target_sparsity']:g}, top-1 {old['after']['top1']:.2f}%)"
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        earlier = ""
    return f"replacing the results in {out_dir}{earlier} when this run completes (an interrupted run leaves them)"


def _measure(
    model: torch.nn.Module, test: ImageSet, cfg: SubnetConfig, example: torch.Tensor, timer: DeviceTimer | None
) -> tuple[dict[str, Any], bytes]:
    """Top-1 on ``test``, MACs, params, ORT CPU latency and, with a ``timer`` for this machine's device, latency
    on its backend here; and the ONNX export (batch 1) they all ran (the timer where its backend takes it), exported
    once."""
    onnx = onnx_bytes(model, cfg.resolution)
    m = {
        "top1": evaluate(model, test, cfg.search_space, cfg.resolution, onnx),
        "macs": count_macs(model, example),
        "params": count_params(model),
        "latency_ort_cpu": ort_latency(onnx, example),
    }
    if timer is not None:
        m["latency_device"] = timer(model, example.shape[-1], onnx)
    return m, onnx


def _device_latency(table: LatencyTable, cfg: SubnetConfig, small: torch.nn.Module, before: dict, after: dict) -> dict:
    """The table's prediction for the unpruned subnet and the pruned network, with the
    measurements on the device's backend (and the prediction's error) where it is this machine."""
    pred = predict_slim_latency(table, cfg, small)
    if "latency_device" in after:
        for name, m in (("subnet", before), ("pruned", after)):
            measured = m["latency_device"]["median_ms"]
            pred[f"{name}_measured_ms"] = measured
            pred[f"{name}_error_pct"] = 100 * (pred[f"{name}_ms"] - measured) / measured
        pred["speed_factor"] = after["latency_device"].get("speed_factor")
        pred["same_cpu"] = after["latency_device"]["same_cpu"]
    return pred


def prune_subnet(
    cfg: SubnetConfig,
    supernet: str | Path,
    data_root: str | Path,
    out_dir: str | Path,
    settings: PruneSettings,
    limit_train: int | None = None,
    limit_test: int | None = None,
    latency_table: LatencyTable | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    on_step: Callable[[int, int, float], None] | None = None,
    keep_checkpoint: bool = False,
    ckpt_every: int = 0,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Prune the subnet ``cfg`` of ``supernet`` on the data at ``data_root``; write the slim network
    (``slim.json`` + ``slim.safetensors``), its ONNX file and ``result.json`` to ``out_dir``.
    With ``latency_table`` the pruned network's latency on that device is predicted, and
    measured here too when the table is this machine's (:data:`LOCAL_DEVICE`). The resume checkpoint
    (after every epoch and, with ``ckpt_every``, every that many steps) goes when the outputs are in place, unless
    ``keep_checkpoint``. ``metadata``: the supernet's (:func:`~ofa_edge.supernet.metadata.read_metadata`) where
    the caller has read it; it is read once otherwise."""
    require_instance(cfg, SubnetConfig, "prune_subnet: cfg", "read one with SubnetConfig.load(path)")
    require_instance(settings, PruneSettings, "prune_subnet: settings", 'make them with PruneSettings("hesso", ...)')
    supernet, data_root = Path(supernet), Path(data_root)
    meta = read_metadata(supernet) if metadata is None else metadata
    out_dir = check_prune_inputs(cfg, meta, out_dir, data_root)
    busy = (
        f"another `ofa-edge prune` (process {{pid}}) is writing '{out_dir}' now; wait for it to finish (the same "
        f"command then resumes or re-measures), or choose another output folder ({option_name('out_dir', '--out')})."
    )
    # one writer: its checkpoint is the resume state; a run that fails before its first write leaves no --out it made
    with hold_lock(out_dir.with_name(f".{out_dir.name}.lock"), busy), made_folder(out_dir):
        if (replacing := _replaced_run_note(out_dir)) is not None:
            log(replacing)
        torch.manual_seed(settings.seed)
        net = load_supernet(supernet, metadata=meta)
        model = net.extract(cfg)
        del net
        size = max(cfg.search_space.resolutions)  # ImageFolder images are decoded at this size
        train = load_dataset(data_root, "train", limit=limit_train, seed=settings.seed, size=size, balanced=False)
        test = load_dataset(data_root, "test", limit=limit_test, seed=0, size=size, balanced=False)
        require_same_classes(train, test, data_root)
        classes = model.head.classifier.out_features
        require_num_classes(train, classes, data_root)
        if (learned := trained_on(meta).classes) and learned != train.classes:
            log(
                f"'{data_root}' names other classes than the supernet learned ({', '.join(learned[:3])}, ...): pruning "
                "retrains its classifier on them, and the unpruned subnet's top-1 below scores the old classes' outputs"
            )
        sp = cfg.search_space
        prep = Preprocess(cfg.resolution, sp.mean, sp.std)
        log(f"subnet {cfg.describe()}; {len(train)} train / {len(test)} {test.split} images")
        # BN as every command recalibrates it (its default images, in its batch), on images drawn at random: every class
        log(f"recalibrating BN on {min(BN_IMAGES, len(train)):,} training images")
        calib = prep.chunks(train.shuffled(settings.seed).images[:BN_IMAGES], BN_CALIB_BATCH)
        recalibrate_bn(model, calib, channels_last=True)  # faster on this CPU; handed back NCHW, as training takes it
        example = prep(test.images[:2])
        is_local = latency_table is not None and latency_table.device == LOCAL_DEVICE
        local = DeviceTimer(latency_table) if is_local else None  # one backend and speed reference for both nets
        on_device = f" and on {LOCAL_DEVICE}'s backend" if local else ""
        log(f"measuring the unpruned subnet: top-1, MACs, params, ONNX Runtime latency{on_device}")
        before, _ = _measure(model, test, cfg, example, local)

        part = partition(model, example[:1])
        log(f"ZIG partition: {part.num_groups} groups in {len(part.spaces)} channel spaces")
        run_id = run_identity(cfg.to_dict(), supernet, data_root, len(train))
        ckpt = out_dir / CHECKPOINT
        trained = train_and_prune(model, part, train, prep, settings, ckpt, on_step, run_id, log, ckpt_every)
        zero = part.zero_mask()
        log("slimming, exporting and measuring the pruned network")
        small, diff = slim_and_check(model, part, prep(test.images[:16]))
        # the outputs appear together or not at all: a second run into the folder (another --target-sparsity)
        # killed halfway leaves the first run's outputs whole; the resume state is carried over only if kept,
        # else it goes in the same rename that brings the outputs in
        carried = set(PRUNE_OUTPUTS) | (set() if keep_checkpoint else {CHECKPOINT})
        with staged_dir(out_dir, keep=lambda name: name not in carried) as stage:
            measured, onnx = _measure(small, test, cfg, example, local)
            atomic_write_bytes(stage / "model.onnx", onnx)
            gs_top1 = evaluate(model, test, sp, cfg.resolution)
            after = {"top1": measured["top1"], "top1_group_sparse_model": gs_top1, **measured}  # this order in JSON
            onnx_diff = verify(stage / "model.onnx", small, example[:1]).max_abs_diff
            base = {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": classes}
            extra = {"preprocessing": prep.to_dict(), "classes": train.classes, "onnx": "model.onnx"}
            save_slim(small, stage, base, extra)
            cfg.save(stage / "subnet.json")
            result = {
                "method": settings.method,
                "subnet": cfg.to_dict(),
                "supernet": str(supernet),
                "settings": asdict(settings),
                "data": {
                    "root": str(data_root),
                    "train_images": len(train),
                    "test_images": len(test),
                    "test_split": test.split,
                },
                "groups": part.num_groups,
                "zero_groups": int(zero.sum()),
                "group_sparsity": int(zero.sum()) / part.num_groups,
                "target_sparsity": settings.target_sparsity,
                "before": before,
                "after": after,
                "slim_max_abs_diff": diff,
                "onnx_max_abs_diff": onnx_diff,
                "device_latency": _device_latency(latency_table, cfg, small, before, after) if latency_table else None,
                "train": trained,
                "out_dir": str(out_dir),
                "files": {k: str(out_dir / k) for k in (*PRUNE_OUTPUTS, *([CHECKPOINT] if keep_checkpoint else []))},
            }
            atomic_write_json(stage / "result.json", result)
        return result
