"""A run directory: config, resumable checkpoint, teacher, metrics (JSON lines), ledger, final supernet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_json, atomic_write_text

# files only a run directory holds (``.lock``: a run killed before it wrote its config); ``--out`` at a non-empty
# folder with none of them is somebody else's folder
RUN_FILES = ("config.json", "checkpoint.safetensors", ".lock")


def data_record(images: int, classes: list[str], world: int) -> dict[str, Any]:
    """The run's data and processes as ``config.json`` records them: a saved iteration only means the
    same thing with the same images, classes and number of processes."""
    return {"train_images": images, "classes": classes, "world": world}


def data_mismatch(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between the :func:`data_record` saved in a run's config and ``now``'s (keys a run
    did not record are not compared)."""
    labels = {"train_images": "training images", "classes": "classes", "world": "processes"}
    return [
        f"{label}: run has {_shown(saved[k])}, now {_shown(now[k])}"
        for k, label in labels.items()
        if saved.get(k) is not None and saved[k] != now[k]
    ]


def _shown(value: Any) -> Any:
    """A recorded value as a message shows it: a list of class names by its count and first four."""
    if not isinstance(value, list):
        return value
    return f"{len(value)} ({', '.join(value[:4])}{', ...' if len(value) > 4 else ''})"


@dataclass(frozen=True)
class RunDir:
    """The files of one training run under ``root`` (see docs/training.md, "Run directory")."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoint(self) -> Path:
        return self.root / "checkpoint.safetensors"

    @property
    def teacher(self) -> Path:
        return self.root / "teacher.safetensors"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.json"

    @property
    def supernet(self) -> Path:
        return self.root / "supernet.safetensors"

    def remove_stale_temps(self) -> list[Path]:
        """Delete temp files a killed write left behind (the real files are always complete)."""
        stale = sorted(self.root.glob(".*.tmp"))
        for p in stale:
            p.unlink(missing_ok=True)
        return stale

    def write_config(self, config: dict[str, Any]) -> None:
        """Write ``config.json`` atomically."""
        atomic_write_json(self.config, config)

    def read_config(self) -> dict[str, Any] | None:
        """``config.json``, or ``None`` when it is missing or unreadable."""
        try:
            return json.loads(self.config.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def replaced_by_new_run(self) -> str | None:
        """What a new run here (no checkpoint) would replace that a killed run did not leave: a finished
        supernet whose checkpoint was deleted, or a config.json that is not a run's; ``None`` if nothing."""
        if self.supernet.exists():
            return "a trained supernet.safetensors but no checkpoint to resume"
        config = self.read_config() if self.config.exists() else {"train": {}}
        if not (isinstance(config, dict) and isinstance(config.get("train"), dict)):
            return "a config.json that is not an ofa-edge training run's"
        return None

    def require_config(self) -> dict[str, Any]:
        """``config.json`` of a run to resume; a :class:`UserError` saying what is wrong with it when it
        is missing or not a JSON object (the run's settings cannot be checked without it)."""
        try:
            config = json.loads(self.config.read_text())
        except FileNotFoundError:
            problem = "is missing"
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            problem = f"is unreadable ({e})"
        else:
            bad = [
                k for k in ("train", "options") if isinstance(config, dict) and not isinstance(config.get(k, {}), dict)
            ]
            if isinstance(config, dict) and not bad:
                return config
            problem = (
                f"has a '{bad[0]}' that is not a JSON object"
                if bad
                else f"holds a JSON {type(config).__name__}, not the run's settings"
            )
        raise UserError(
            f"'{self.config}' {problem}: it records the run's settings, which --resume continues with. "
            "Restore it from a copy of the run, or start a new run with another --out."
        )

    def append_metrics(self, record: dict[str, Any]) -> None:
        """One JSON line; a line cut by a kill is dropped by :meth:`keep_metrics` on resume."""
        with self.metrics.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def _read_metrics(self) -> tuple[list[dict[str, Any]], int]:
        """(the metric records, how many lines were not JSON objects: cut short by a kill)."""
        if not self.metrics.is_file():
            return [], 0
        records, cut = [], 0
        for line in self.metrics.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict):
                records.append(record)
            elif line.strip():
                cut += 1
        return records, cut

    def keep_metrics(self, before_epoch: int) -> int:
        """Drop records of epochs the checkpoint has not completed (rewritten atomically, only when a line
        goes); returns how many lines cut short by a kill were dropped with them."""
        records, cut = self._read_metrics()
        kept = [r for r in records if r.get("epoch", 0) < before_epoch]
        if cut or len(kept) < len(records) or not self.metrics.is_file():
            atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))
        return cut
