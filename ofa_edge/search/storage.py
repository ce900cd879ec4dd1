"""Optuna storages from one ``--storage`` string, so several processes can share a study.

* ``sqlite:///path.db``, ``postgresql://user@host/db`` (needs ``psycopg2``), ``mysql://...``:
  an RDB storage (SQLAlchemy URL);
* anything without ``://`` is a file path: a journal file (``JournalStorage`` over
  ``JournalFileBackend``), safe for several processes on one machine or a shared filesystem.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError

_DRIVERS = {"postgresql": ("psycopg2", "psycopg2-binary"), "mysql": ("pymysql", "PyMySQL")}


def open_storage(url: str | None) -> Any:
    """An Optuna storage object for ``url`` (None -> in-memory)."""
    import optuna

    if url is None:
        return None
    if "://" not in url:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url)
        if path.is_dir():
            raise UserError(f"--storage '{url}' is a folder; give a journal file path such as {path / 'study.log'}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", *_DRIVERS):
        raise UserError(
            f"--storage '{url}': unsupported scheme '{scheme}'. Use sqlite:///file.db, postgresql://user@host/db, "
            "mysql://... or a journal file path."
        )
    if scheme in _DRIVERS and "+" not in url.split("://", 1)[0]:
        module, package = _DRIVERS[scheme]
        if importlib.util.find_spec(module) is None:
            raise UserError(f"--storage {scheme}:// needs the '{module}' driver: pip install {package}.")
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True} if scheme != "sqlite" else None)
    except Exception as e:  # SQLAlchemy raises many types for a bad URL or an unreachable server
        raise UserError(f"cannot open --storage '{url}': {type(e).__name__}: {str(e).splitlines()[0]}") from None
