"""Which subnet and which supernet an export (or a prune) uses, and why (every default is reported)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ofa_edge.errors import UserError
from ofa_edge.export.bundle import bundle_supernet
from ofa_edge.export.formats import option_name
from ofa_edge.export.last_search import LastSearch, read_last_search, search_beside
from ofa_edge.io import file_kind
from ofa_edge.paths import embedded_supernet, last_search_path, require_embedded_supernet
from ofa_edge.space import CostModel, SubnetConfig
from ofa_edge.space.config import SHORT_ID_LEN, subnet_file
from ofa_edge.supernet.checkpoint import load_subnet
from ofa_edge.supernet.metadata import read_metadata, require_checkpoint_file, trained_on

_SHORT_ID = re.compile(rf"[0-9a-f]{{{SHORT_ID_LEN}}}")  # SubnetConfig.short_id, as the search's table shows it


@dataclass(frozen=True)
class ExportInputs:
    """What ``export`` builds from (``eval`` and ``prune`` take the subnet and supernet): the subnet, where it
    came from, the supernet checkpoint, the last search (when the subnet is its result), notes on the defaults
    it picked, and notes on the search's predictions an export carries (``prediction_notes``)."""

    subnet: SubnetConfig
    subnet_source: str
    supernet: Path
    last_search: LastSearch | None
    notes: list[str] = field(default_factory=list)
    classes: list[str] | None = None  # the model's class names, when it records them
    predicted: dict = field(default_factory=dict)  # the search's predictions that hold for this export
    slim: Path | None = None  # a pruned network's slim.json (``supernet`` is then that file too)
    prediction_notes: list[str] = field(default_factory=list)  # what of ``predicted`` was dropped or recounted


def resolve_inputs(subnet: str | Path | None, supernet: str | Path | None) -> ExportInputs:
    """``--subnet`` or the last search result; ``--supernet``, the search's supernet or the embedded one."""
    notes: list[str] = []
    said: list[str] = []  # on the search's predictions: export's to print
    last = read_last_search()
    bundled = None  # the supernet of the bundle that --subnet lies in (its subnet.json)
    read: tuple[Path, dict] | None = None  # a checkpoint whose metadata was read, with it: read once
    if subnet is not None and not Path(subnet).exists() and _SHORT_ID.fullmatch(str(subnet)):
        cfg, source, last = _by_id(str(subnet), last, said)
    elif subnet is not None:
        subnet = subnet_file(subnet)  # a search output folder: its subnet.json, beside its search.json
        # an OFA arch dict that names no space is read in the space of --supernet, else of the embedded one
        if supernet is not None or embedded_supernet().is_file():
            spaced = Path(supernet or embedded_supernet())
            read = spaced, read_metadata(spaced)
            cfg = load_subnet(subnet, spaced, metadata=read[1])
        else:
            cfg = SubnetConfig.load(subnet)
        source = str(Path(subnet).absolute())  # as bundle.json records every path
        if last is None or last.subnet.canonical() != cfg.canonical():
            last = search_beside(subnet, cfg)  # the last search's predictions are for another subnet
            if last is not None:
                notes.append(f"the search that chose this subnet: {last.path} (device {last.device})")
            elif supernet is None:
                bundled = bundle_supernet(subnet, cfg)
    elif last is not None:
        cfg, source = last.subnet, f"last search result {last.path}"
        notes.append(
            f"no {option_name('subnet')}: using the last search result {last.path} (id {cfg.short_id()}, {cfg.describe()})"
        )
    else:
        raise UserError(
            f"no {option_name('subnet')} was given and there is no last search result at '{last_search_path()}'. "
            "Run `ofa-edge search --latency 15ms` first, or pass a subnet JSON file."
        )
    if supernet is not None:
        net = Path(supernet)
    elif last is not None and last.supernet is not None:
        net = last.supernet
        notes.append(f"no {option_name('supernet')}: using the supernet the search used, {net}")
    elif bundled is not None:
        net = bundled
        notes.append(
            f"no {option_name('supernet')}: using the supernet the bundle of {option_name('subnet')} was exported from, {net}"
        )
    else:
        net = require_embedded_supernet()
        notes.append(f"no {option_name('supernet')}: using the embedded pretrained supernet {net}")
    net = require_checkpoint_file(net)
    meta = read[1] if read is not None and read[0].resolve() == net.resolve() else read_metadata(net)
    predicted = dict(last.predicted) if last is not None else {}
    if last is not None and last.devices:
        predicted["devices"] = last.devices  # every searched device's latency; latency_ms is the first's
    if "accuracy" in predicted and (last.supernet is None or last.supernet.resolve() != net.resolve()):
        del predicted["accuracy"]  # the search predicted it for its own supernet's weights
        said.append(f"the search's predicted accuracy is for its supernet {last.supernet}, not {net}: left out")
    predicted |= _recounted(predicted, cfg, meta["num_classes"], said)
    return ExportInputs(cfg, source, net, last, notes, trained_on(meta).classes, predicted, prediction_notes=said)


def _by_id(short_id: str, last: LastSearch | None, said: list[str]) -> tuple[SubnetConfig, str, LastSearch]:
    """The subnet of the last search's top-k with this :meth:`~SubnetConfig.short_id`, where it came from, and the
    last search as it holds for that subnet (its device, supernet and that row's predictions, where recorded);
    a :class:`UserError` for no such id."""
    if last is None:
        raise UserError(
            f"{option_name('subnet')} {short_id}: no such file, and there is no last search result at "
            f"'{last_search_path()}' to take an id from; run `ofa-edge search --latency 15ms` first, or pass a "
            "subnet JSON file."
        )
    if short_id not in last.top_k:
        ids = ", ".join(last.top_k) or "none recorded"
        raise UserError(
            f"{option_name('subnet')} {short_id}: no such file, and no subnet of the last search's top-k has that id "
            f"(ids: {ids}); pass a subnet JSON file, or an id from the id column of `ofa-edge search`."
        )
    cfg, rank = last.top_k[short_id], list(last.top_k).index(short_id) + 1
    source = f"subnet {short_id} (#{rank}) of the last search result {last.path}"
    if cfg.canonical() == last.subnet.canonical():
        return cfg, source, last
    row = last.top_k_predicted.get(short_id, {})
    latency = row.get("latency_ms", {})
    if last.device not in latency or set(latency) != set(last.devices):
        said.append(f"the last search's predictions are for its #1, {last.subnet.short_id()}: none go with {short_id}")
        return cfg, source, replace(last, subnet=cfg, predicted={}, devices={})
    devices = {name: d | {"latency_ms": latency[name]} for name, d in last.devices.items()}
    predicted = {"latency_ms": latency[last.device]} | {k: row[k] for k in ("accuracy", "macs", "params") if k in row}
    if "accuracy" not in last.predicted:
        predicted.pop("accuracy", None)  # the search ranked by a proxy: no accuracy was predicted
    return cfg, source, replace(last, subnet=cfg, predicted=predicted, devices=devices)


def _recounted(predicted: dict, cfg: SubnetConfig, num_classes: int, notes: list[str]) -> dict[str, int]:
    """The search's MACs and params counted again for the exported supernet's classifier (``num_classes``
    outputs): a search on another supernet, or on a latency table alone, counted its classifier."""
    counts = {k: v for k, v in CostModel(cfg.space, num_classes).counts(cfg).items() if k in predicted}
    changed = [k for k, v in counts.items() if predicted[k] != v]
    if changed:
        notes.append(
            f"the search counted {' and '.join(changed)} for another classifier: counted again for the "
            f"{num_classes} classes of this supernet"
        )
    return counts


def slim_inputs(slim: str | Path) -> ExportInputs:
    """A pruned network from ``ofa-edge prune`` (its slim.json, or the output folder holding it): its base
    subnet gives resolution and space."""
    path, notes = Path(slim), []
    if path.is_dir():
        if not (path / "slim.json").is_file():
            raise UserError(
                f"{option_name('slim')} '{path}' is a folder without slim.json; pass the slim.json that `ofa-edge prune` wrote "
                "(in its --out folder)."
            )
        path = path / "slim.json"
        notes.append(f"{option_name('slim')} {slim} is a folder: using the slim.json in it")
    if path.suffix == ".safetensors":
        raise UserError(
            f"'{path}' holds the pruned network's weights; pass its description as {option_name('slim')}: "
            f"{path.with_name('slim.json')} (`ofa-edge prune` wrote both)."
        )
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise UserError(
            f"cannot read the pruned network '{path}' ({e}); pass the slim.json that `ofa-edge prune` wrote."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        kind = file_kind(path) or ("binary" if isinstance(e, UnicodeDecodeError) else None)
        what = f"is not a pruned network's slim.json (it is {kind})" if kind else f"is not valid JSON ({e})"
        beside = path.with_name("slim.json")
        fix = f"{beside}, beside it" if beside.is_file() and beside != path else "the one `ofa-edge prune` wrote"
        raise UserError(f"'{path}' {what}; pass the pruned network's slim.json ({fix}).") from None
    base = doc.get("base") if isinstance(doc, dict) else None
    if not isinstance(base, dict) or base.get("kind") != "ofa-subnet" or "subnet" not in base:
        raise UserError(f"'{path}' is not a pruned ofa-edge subnet (slim.json of `ofa-edge prune`).")
    missing = [k for k in ("preprocessing", "classes") if k not in doc]
    if missing:
        raise UserError(
            f"'{path}' lacks {' and '.join(missing)} (export needs them for the bundle); re-run `ofa-edge prune`, "
            "which writes them."
        )
    cfg = SubnetConfig.from_dict(base["subnet"])
    _check_slim_preprocessing(path, doc["preprocessing"], cfg.resolution)
    return ExportInputs(
        cfg,
        f"pruned network {path}",
        path,
        None,
        [*notes, f"the pruned network {path} ({cfg.describe()} before pruning)"],
        doc["classes"],
        slim=path,
    )


def _check_slim_preprocessing(path: Path, record: object, resolution: int) -> None:
    """A :class:`UserError` where a slim.json's ``preprocessing`` (:meth:`Preprocess.to_dict`) lacks a field, or
    feeds another resolution than the subnet it was pruned from takes (an edited or damaged file)."""
    missing = [k for k in ("resolution", "mean", "std") if not isinstance(record, dict) or k not in record]
    if missing:
        raise UserError(f"'{path}': its preprocessing lacks {', '.join(missing)}; re-run `ofa-edge prune`.")
    if record["resolution"] != resolution:
        raise UserError(
            f"'{path}': its preprocessing has resolution {record['resolution']} but the subnet it was pruned from "
            f"takes {resolution}; re-run `ofa-edge prune`."
        )
