"""Optuna storages from one ``--storage`` string, so several processes can share a study.

* ``sqlite:///path.db``, ``postgresql://user@host/db`` (psycopg 3 or psycopg2, whichever is
  installed), ``mysql://...``: an RDB storage (SQLAlchemy URL);
* anything without ``://`` is a file path: a journal file (``JournalStorage`` over
  ``JournalFileBackend``), safe for several processes on one machine or a shared filesystem.
"""

from __future__ import annotations

import importlib.util
import json
import random
import time
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError

# URL scheme -> DBAPI drivers SQLAlchemy can use for it (module, SQLAlchemy dialect suffix), first found wins.
# SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, so psycopg2 is named explicitly.
_DRIVERS = {"postgresql": [("psycopg", "psycopg"), ("psycopg2", "psycopg2")], "mysql": [("pymysql", "pymysql")]}
_RETRIES = 5
# What a worker sees when another one created Optuna's schema (tables, enum types, version row)
# between its check and its CREATE: PostgreSQL's DuplicateTable / DuplicateObject / UniqueViolation
# (wrapped in SQLAlchemy's ProgrammingError or IntegrityError), MySQL's and SQLite's "already exists".
_SCHEMA_RACE = (
    "IntegrityError",
    "UniqueViolation",
    "DuplicateTable",
    "DuplicateObject",
    "already exists",
    "duplicate key",
)
_INSTALL = {"postgresql": "psycopg2-binary (or psycopg[binary])", "mysql": "PyMySQL"}


def _lost_schema_race(e: Exception) -> bool:
    """Whether opening a storage failed only because a worker starting at the same time created
    the schema first (the schema is there now: opening again succeeds)."""
    text = f"{type(e).__name__} {type(getattr(e, 'orig', None)).__name__} {e}"
    return any(marker in text for marker in _SCHEMA_RACE)


def _is_journal(path: Path) -> bool:
    """Whether ``path`` (an existing file) may be given to Optuna as a journal: empty, or JSON
    lines that are each an object with an ``op_code``. A last line without its newline is another
    worker's record being written; it must begin like one (Optuna writes ``op_code`` first)."""
    *lines, tail = path.read_bytes().split(b"\n")
    for line in lines:
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        if not isinstance(record, dict) or "op_code" not in record:
            return False
    return not tail or tail.startswith(b'{"op_code"')


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
        if path.is_file() and not _is_journal(path):
            raise UserError(f"--storage '{url}' is not an Optuna journal file; pass a new path or a journal.")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", *_DRIVERS):
        raise UserError(
            f"--storage '{url}': unsupported scheme '{scheme}'. Use sqlite:///file.db, postgresql://user@host/db, "
            "mysql://... or a journal file path."
        )
    if scheme in _DRIVERS and "+" not in url.split("://", 1)[0]:
        found = [d for m, d in _DRIVERS[scheme] if importlib.util.find_spec(m) is not None]
        if not found:
            raise UserError(f"--storage {scheme}:// needs a database driver: pip install {_INSTALL[scheme]}.")
        url = f"{scheme}+{found[0]}://" + url.split("://", 1)[1]
    kwargs = {"pool_pre_ping": True} if scheme != "sqlite" else None
    attempt = 0
    while True:
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except Exception as e:  # noqa: BLE001 - SQLAlchemy raises many types (bad URL, unreachable server)
            attempt += 1
            if _lost_schema_race(e) and attempt < _RETRIES:
                time.sleep(0.2 * attempt * (1 + random.random()))
                continue
            raise UserError(f"cannot open --storage '{url}': {type(e).__name__}: {str(e).splitlines()[0]}") from None
