"""Measured accuracy of sampled subnets: the accuracy predictor's training data.

Each sampled subnet is extracted, its batch-norm statistics recalibrated on training images,
then its top-1 measured on a held-out split of the training set
(:func:`ofa_edge.supernet.evaluate.evaluate_subnet`, as the training probes do). Results are
cached beside the supernet in ``<stem>.accuracy.json`` (for the embedded supernet, in your data
folder: :func:`~ofa_edge.paths.supernet_file_dirs`), keyed by the checkpoint's SHA-256, the
data's identity and the measuring settings, written after every subnet (an interrupted run
resumes) and reused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.data.formats import split_identity, split_size
from ofa_edge.errors import UserError
from ofa_edge.host import resolve_torch_device
from ofa_edge.io import atomic_write_json, file_sha256
from ofa_edge.paths import supernet_file_dirs
from ofa_edge.search.predictor import AccuracyPredictor
from ofa_edge.search.progress import progress_bar
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.genome import decode, encode, sample
from ofa_edge.space.search_space import SearchSpace
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH
from ofa_edge.supernet.metadata import read_metadata, trained_on

if TYPE_CHECKING:
    from ofa_edge.data import ImageSet

FORMAT = "ofa-edge-accuracy-data/1"
DEFAULT_SAMPLES = 1000  # subnets measured to fit a supernet's first predictor
MIN_HOLDOUT = 1000  # the fewest training images a predictor's accuracies are measured on (900 validating)
CPU_PACE_S, CPU_PACE_IMAGES = 10, 5500  # a subnet at 5,000 + 500 images took 10 s on a 2-vCPU Xeon (docs/search.md)


@dataclass(frozen=True)
class MeasureSettings:
    """How accuracies are measured. The held-out split is ``n_val`` + ``n_calib`` training
    images drawn with ``split_seed``; the first ``n_val`` of a seeded shuffle are the validation
    set, the rest recalibrate batch norm in batches of ``calib_batch`` (every command's
    :data:`~ofa_edge.supernet.bn_calibration.BN_CALIB_BATCH`); ``batch_size`` is the inference batch.
    The defaults are those the embedded supernet's shipped accuracies were measured with: 500 BN
    images read 73.3 % where 2,000 read 73.4 % (median of 4 subnets, docs/benchmarks.md), at three
    quarters of the images per subnet."""

    n_val: int = 5000
    n_calib: int = 500
    split_seed: int = 0
    batch_size: int = 500
    calib_batch: int = BN_CALIB_BATCH

    @classmethod
    def from_dict(cls, doc: dict) -> MeasureSettings:
        """Settings as :func:`dataclasses.asdict` recorded them. A record without ``calib_batch`` (written
        before it was a setting of its own) recalibrated BN in batches of its ``batch_size``."""
        return cls(**{"calib_batch": doc["batch_size"]} | doc)

    def fitted_to(self, images: int | None) -> MeasureSettings:
        """These settings for a training split of ``images`` (``None``: not counted): unchanged where it holds
        ``n_val + n_calib``; a smaller one is held out whole, a tenth (at most ``n_calib``) recalibrating BN and the
        rest validating, down to :data:`MIN_HOLDOUT` images (fewer read too little to rank subnets by)."""
        if images is None or images >= self.n_val + self.n_calib or images < MIN_HOLDOUT:
            return self
        n_calib = min(self.n_calib, images // 10)
        return replace(self, n_val=images - n_calib, n_calib=n_calib)

    def key(self, data: str | None) -> str:
        """Cache key of these settings on the dataset whose :func:`data_identity` is ``data``."""
        return json.dumps(asdict(self) | {"data": data}, sort_keys=True)


def data_identity(data_root: str | Path) -> str | None:
    """Content identity of a dataset's training split (:func:`~ofa_edge.data.formats.split_identity`);
    ``None`` where it is absent."""
    return split_identity(data_root, "train")


def cache_path(supernet: str | Path) -> Path:
    """Where measured accuracies of a supernet's subnets are written (``<stem>.accuracy.json`` in the
    first of :func:`~ofa_edge.paths.supernet_file_dirs`)."""
    return supernet_file_dirs(supernet)[0] / (Path(supernet).stem + ".accuracy.json")


def holdout_split(data_root: str | Path, s: MeasureSettings, size: int = 32) -> tuple[ImageSet, ImageSet]:
    """(calibration images, validation images and labels) from the training split of a dataset in
    any layout :func:`~ofa_edge.data.datasets.load_dataset` reads (ImageFolder images at ``size``)."""
    import torch

    from ofa_edge.data.datasets import load_dataset

    data = load_dataset(data_root, "train", limit=s.n_val + s.n_calib, seed=s.split_seed, size=size, balanced=False)
    if len(data) < s.n_val + s.n_calib:
        raise UserError(
            f"'{data_root}' has {len(data)} training images, and the accuracy predictor holds out "
            f"{s.n_val + s.n_calib} of them ({s.n_val} to validate subnets, {s.n_calib} to recalibrate BN; a smaller "
            f"split down to {MIN_HOLDOUT:,} images is held out whole). Give a larger training split, or rank subnets by "
            "MACs instead: `ofa-edge search --supernet YOURS --accuracy-proxy macs` (without --data)."
        )
    order = torch.from_numpy(np.random.default_rng(s.split_seed).permutation(len(data)))
    return data.subset(order[s.n_val :]), data.subset(order[: s.n_val])


def collect(
    supernet_path: str | Path,
    data_root: str | Path,
    n_subnets: int,
    *,
    settings: MeasureSettings | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Genomes ``(n, 46)`` and measured top-1 of ``n_subnets`` seeded random subnets.

    Cached subnets are reused; new ones are measured (progress bar on stderr) and the cache
    is rewritten atomically after each. Returns (genomes, top1, cache info).
    """
    space = load_space(supernet_path)
    wanted = decode(space, sample(space, n_subnets, np.random.default_rng(seed)))
    top1, info = measure(supernet_path, data_root, wanted, settings=settings, progress=progress)
    return encode(space, wanted), top1, info


def measure(
    supernet_path: str | Path,
    data_root: str | Path,
    cfgs: list[SubnetConfig],
    *,
    settings: MeasureSettings | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, dict]:
    """Measured top-1 of ``cfgs`` (cache-aware, resumable). Returns (top1, cache info)."""
    settings = settings or MeasureSettings().fitted_to(split_size(data_root, "train"))
    path = cache_path(supernet_path)
    meta = read_metadata(supernet_path)  # once: the cache's space here, the class checks below
    digest, space, key = (
        file_sha256(supernet_path),
        SearchSpace.get(meta["space"]).name,
        settings.key(data_identity(data_root)),
    )
    files = [d / path.name for d in reversed(supernet_file_dirs(supernet_path))]  # yours last: its records win
    records = _records(_read_caches(files), digest, space, key)
    keys = [c.canonical().to_json() for c in cfgs]
    todo = list({k: c for k, c in zip(keys, cfgs, strict=True) if k not in records}.items())
    if todo:  # torch is imported only here: a search whose accuracies are all known does without it
        import torch

        from ofa_edge.data.classes import require_num_classes
        from ofa_edge.supernet.checkpoint import load_supernet
        from ofa_edge.supernet.evaluate import evaluate_subnet

        device = resolve_torch_device()
        net = load_supernet(supernet_path, device=device, metadata=meta).eval()
        calib, val = holdout_split(data_root, settings, size=max(net.space.resolutions))
        require_num_classes(val, net.num_classes, data_root, trained_on(meta))
        cached = f" ({len(keys) - len(todo)} of the {len(keys)} are cached)" if len(todo) < len(keys) else ""
        default = MeasureSettings()
        whole = (
            f"; the training split is held out whole, as it holds fewer than the {default.n_val + default.n_calib:,} "
            "images measured by default: accuracies read on fewer images are noisier"
            if settings.n_val + settings.n_calib < default.n_val + default.n_calib
            else ""
        )
        about = (
            f"measuring the top-1 of {len(todo)} new subnet(s){cached}: each has BN recalibrated on "
            f"{settings.n_calib} and is evaluated on {settings.n_val} training images{whole} "
            f"({_pace(len(todo), settings, device)}; "
            "fewer: --samples N, none: --accuracy-proxy macs). Each is saved as it is measured: stopped, it goes on "
            "where it stopped"
        )
        with progress_bar("measuring subnet accuracy", len(todo), progress, note=about) as advance:
            for k, cfg in todo:
                records[k] = evaluate_subnet(
                    net, cfg, calib, val, torch.device(device), settings.batch_size, calib_batch=settings.calib_batch
                )["top1"]
                doc = _read_cache(path)  # merged with what other processes wrote meanwhile, not over it
                _records(doc, digest, space, key)[k] = records[k]  # the shipped records stay in their file
                atomic_write_json(path, doc)
                advance()
    top1 = np.array([records[k] for k in keys])
    return top1, {
        "cache": str(path),
        "supernet_sha256": digest,
        "reused": len(keys) - len(todo),
        "measured": len(todo),
        "settings": asdict(settings),
    }


def _pace(count: int, settings: MeasureSettings, device: str) -> str:
    """How long measuring ``count`` subnets roughly takes on ``device`` (said before it starts)."""
    if device != "cpu":
        return "seconds each on a GPU"
    hours = count * (settings.n_val + settings.n_calib) * CPU_PACE_S / CPU_PACE_IMAGES / 3600
    about = f"{hours:.1f} h" if hours >= 1 else f"{round(hours * 60)} min" if hours >= 1 / 60 else "under a minute"
    pace = f"about {CPU_PACE_S} s for {CPU_PACE_IMAGES:,} images"
    return f"roughly {about} on a 2-core CPU, which takes {pace}; a GPU takes seconds each"


def _records(doc: dict, digest: str, space: str, key: str) -> dict[str, float]:
    """The cached top-1 records of one supernet under one settings key (created empty in ``doc``)."""
    entry = doc["supernets"].setdefault(digest, {"space": space, "by_settings": {}})
    return entry["by_settings"].setdefault(key, {})


def _read_caches(paths: list[Path]) -> dict:
    """The records of several caches merged (a later one's record wins)."""
    doc = {"format": FORMAT, "supernets": {}}
    for path in paths:
        for digest, entry in _read_cache(path)["supernets"].items():
            for key, records in entry["by_settings"].items():
                _records(doc, digest, entry["space"], _current_key(key)).update(records)
    return doc


def _current_key(key: str) -> str:
    """A cache's settings key as :meth:`MeasureSettings.key` writes it now (an older key gains the
    ``calib_batch`` it was measured with). A key this version cannot read stays as it is: it matches no
    settings of today's, so its records are kept in the file and never reused."""
    try:
        doc = json.loads(key)
        data = doc.pop("data")
        return MeasureSettings.from_dict(doc).key(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        return key


def _read_cache(path: Path) -> dict:
    if not path.is_file():
        return {"format": FORMAT, "supernets": {}}
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"accuracy cache '{path}' is corrupt; delete it to measure again.") from None
    if doc.get("format") != FORMAT or not isinstance(doc.get("supernets"), dict):
        raise UserError(f"'{path}' is not an ofa-edge accuracy cache; move it away to measure again.")
    return doc


def predictor_path(supernet: str | Path, data: str | None = None, folder: Path | None = None) -> Path:
    """``<stem>.predictor.safetensors`` in ``folder`` (default: where new ones are written, the first of
    :func:`~ofa_edge.paths.supernet_file_dirs`); with ``data`` (a :func:`data_identity`), the file of a
    predictor fitted on another dataset than the first one, ``<stem>.predictor.<data>.safetensors``."""
    folder = folder or supernet_file_dirs(supernet)[0]
    return folder / (Path(supernet).stem + (f".predictor.{data}" if data else ".predictor") + ".safetensors")


def predictor_for(
    supernet_path: str | Path,
    data_root: str | Path,
    n_subnets: int | None = None,
    *,
    settings: MeasureSettings | None = None,
    seed: int = 0,
    refit: bool = False,
    progress: bool = True,
) -> tuple[AccuracyPredictor, dict]:
    """The supernet's accuracy predictor for this dataset: a saved one fitted for this very
    checkpoint (same SHA-256) on this dataset (same :func:`data_identity`; not checked where the
    data is absent, as nothing could be measured there) on accuracies measured with BN recalibrated
    in batches of ``settings.calib_batch`` (another batch shifts them), else measure (or reuse) accuracies, fit
    and save it (``refit``: always). A predictor fitted on other data is kept: the new one goes beside
    it, named by the data's identity. ``n_subnets`` are measured (cached ones reused); ``None``: as many
    as the saved predictor was fitted on when ``refit`` (so a refit measures nothing new), else
    :data:`DEFAULT_SAMPLES`."""
    digest, data = file_sha256(supernet_path), data_identity(data_root)
    calib_batch = (settings or MeasureSettings()).calib_batch
    found = [  # yours before the shipped ones
        (p, AccuracyPredictor.load(p))
        for folder in supernet_file_dirs(supernet_path)
        for name in dict.fromkeys((None, data))
        if (p := predictor_path(supernet_path, name, folder)).is_file()
    ]
    fits = [
        (p, pred)
        for p, pred in found
        if pred.meta.get("supernet_sha256") == digest
        and data in (None, pred.meta.get("data"))
        and _calib_batch(pred.meta) == calib_batch
    ]
    if fits and not refit:
        path, pred = fits[0]
        return pred, {"predictor": str(path), "reused": True, "data_checked": data is not None, **pred.meta}
    if n_subnets is None:
        n_subnets = int(fits[0][1].meta.get("n_subnets", DEFAULT_SAMPLES)) if fits else DEFAULT_SAMPLES
    first = predictor_path(supernet_path).name
    taken = any(  # this checkpoint's first predictor is another dataset's: this one goes beside it, named by its data
        path.name == first and pred.meta.get("supernet_sha256") == digest and pred.meta.get("data") not in (None, data)
        for path, pred in found
    )
    path = predictor_path(supernet_path, data if data and taken else None)
    genomes, top1, info = collect(supernet_path, data_root, n_subnets, settings=settings, seed=seed, progress=progress)
    pred = AccuracyPredictor.fit(load_space(supernet_path), genomes, top1, seed=seed)
    pred.save(path, {"supernet_sha256": digest, "data": data, "n_subnets": n_subnets, "settings": info["settings"]})
    # "reused" says whether the predictor was; collect's count of cached accuracies goes on under its own name
    return pred, {
        "predictor": str(path),
        **info,
        "data": data,
        "accuracies_reused": info["reused"],
        "reused": False,
        "n_subnets": n_subnets,
    }


def _calib_batch(meta: dict) -> int | None:
    """The BN recalibration batch of the accuracies a predictor was fitted on (``None``: not recorded, or in
    settings this version cannot read; such a predictor is fitted again, not reused)."""
    try:
        return MeasureSettings.from_dict(meta["settings"]).calib_batch
    except (TypeError, KeyError, AttributeError):
        return None


def load_space(supernet_path: str | Path) -> SearchSpace:
    """The search space a checkpoint was trained for (reads only its header)."""
    return SearchSpace.get(read_metadata(supernet_path)["space"])
