"""Optuna storages from one ``--storage`` string, so several processes can share a study.

* ``sqlite:///path.db``, ``postgresql://user@host/db`` (psycopg 3 or psycopg2, whichever is
  installed), ``mysql://...``: an RDB storage (SQLAlchemy URL);
* anything without ``://`` is a file path: a journal file (``JournalStorage`` over
  ``JournalFileBackend``), safe for several processes on one machine or a shared filesystem.

Both record Optuna heartbeats: a trial left RUNNING by a worker that died (SIGKILL, a lost machine)
is marked FAIL by the next worker of the study to start a trial once the trial has been silent for
``GRACE_PERIOD_S``. Optuna has heartbeats for RDB storages only, so journals get them here. Optuna's
RDB storage never fails a trial without a heartbeat (its worker died while the sampler picked its
parameters, before the first beat): here a worker that sees one gives it a heartbeat, from which
it is silent like the others.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import random
import re
import time
import warnings
from collections.abc import Callable
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
# A worker records a heartbeat when a trial starts and then every HEARTBEAT_INTERVAL_S; a RUNNING trial
# silent for GRACE_PERIOD_S is a dead worker's. The grace outlasts the 30 s after which a journal's lock,
# left by a worker killed while writing, is broken: live workers wait on that lock without beating.
HEARTBEAT_INTERVAL_S = 10
GRACE_PERIOD_S = 60
_HEARTBEAT = "ofa_edge_heartbeat"  # trial system attribute of a journal trial: time.time() of its last heartbeat

StaleCallback = Callable[[Any, Any], None]  # (study, the FrozenTrial just marked FAIL)


# A URL's ``scheme://user:`` and the password after it, up to the last ``@`` before the path
_PASSWORD = re.compile(r"(\b[A-Za-z][\w+.-]*://[^:/@\s]*:)[^\s/]*@")


def redact_password(text: str) -> str:
    """``text`` (a ``--storage`` URL, or a message that contains one) with every URL's password shown as ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


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


def _heartbeat_journal(path: str, on_stale: StaleCallback | None) -> Any:
    """A ``JournalStorage`` over the file ``path`` with Optuna's heartbeat (``BaseHeartbeat``)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    try:  # Optuna's heartbeat interface is private: an Optuna without it gets a journal without heartbeats
        from optuna.storages._heartbeat import BaseHeartbeat
    except ImportError:
        return JournalStorage(JournalFileBackend(path))

    class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
        """Heartbeats as a trial system attribute; a trial that has none yet counts from its start."""

        def __init__(self, backend: Any) -> None:
            super().__init__(backend)
            self.started: set[int] = set()  # trials whose first heartbeat, as they start, was skipped

        def record_heartbeat(self, trial_id: int) -> None:
            """Writes from the second call for a trial on: the first, as it starts, would repeat its start time
            (one more journal append per trial, 1-2% of its time)."""
            if trial_id in self.started:
                self.set_trial_system_attr(trial_id, _HEARTBEAT, time.time())
            self.started.add(trial_id)

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            now = time.time()
            running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
            return [t._trial_id for t in running if now - _last_beat(t) > GRACE_PERIOD_S]

        def get_heartbeat_interval(self) -> int:
            return HEARTBEAT_INTERVAL_S

        def get_heartbeat_stale_trial_callback(self) -> StaleCallback | None:
            return on_stale

        get_failed_trial_callback = get_heartbeat_stale_trial_callback  # its name in older Optuna

    return HeartbeatJournalStorage(JournalFileBackend(path))


def _last_beat(trial: Any) -> float:
    """The time (``time.time()``) of a journal trial's last heartbeat, or of its start if it has none yet."""
    return trial.system_attrs.get(_HEARTBEAT) or trial.datetime_start.timestamp()


def _rdb_storage(url: str, engine_kwargs: dict[str, Any] | None, on_stale: StaleCallback | None) -> Any:
    """An ``RDBStorage`` with Optuna's heartbeat whose stale check also covers RUNNING trials without one."""
    from optuna.storages import RDBStorage
    from optuna.trial import TrialState

    try:  # private: an Optuna without them leaves such trials RUNNING, as it always did
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
    except ImportError:
        return RDBStorage(url, engine_kwargs=engine_kwargs, **_rdb_heartbeat(on_stale))

    class HeartbeatRDBStorage(RDBStorage):
        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            """Optuna's stale trials; each RUNNING trial without a heartbeat row gets one (the database's
            time now), so that it is judged from here on, by the database's clock, as the others are."""
            stale = super()._get_stale_trial_ids(study_id)
            trial = models.TrialModel
            with _create_scoped_session(self.scoped_session, True) as session:  # a live worker beating first wins
                silent = session.query(trial.trial_id).filter(
                    trial.study_id == study_id, trial.state == TrialState.RUNNING, ~trial.heartbeats.any()
                )
                session.add_all(models.TrialHeartbeatModel(trial_id=t) for (t,) in silent.all())
            return stale

    return HeartbeatRDBStorage(url, engine_kwargs=engine_kwargs, **_rdb_heartbeat(on_stale))


def _rdb_heartbeat(on_stale: StaleCallback | None) -> dict[str, Any]:
    """``RDBStorage`` keyword arguments for Optuna's heartbeat (older Optuna names the callback ``failed_trial_callback``)."""
    from optuna.storages import RDBStorage

    params = inspect.signature(RDBStorage.__init__).parameters
    callback = (
        "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else "failed_trial_callback"
    )
    return {"heartbeat_interval": HEARTBEAT_INTERVAL_S, "grace_period": GRACE_PERIOD_S, callback: on_stale}


def open_storage(url: str | None, on_stale: StaleCallback | None = None) -> Any:
    """An Optuna storage object for ``url`` (None -> in-memory), with heartbeats; ``on_stale`` is called
    for each trial of a dead worker that this process marks FAIL."""
    import optuna

    if url is None:
        return None
    if "://" not in url:
        path = Path(url)
        if path.is_dir():
            raise UserError(f"--storage '{url}' is a folder; give a journal file path such as {path / 'study.log'}.")
        if path.is_file() and not _is_journal(path):
            raise UserError(f"--storage '{url}' is not an Optuna journal file; pass a new path or a journal.")
        path.parent.mkdir(parents=True, exist_ok=True)
        return _heartbeat_journal(str(path), on_stale)
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", *_DRIVERS):
        raise UserError(
            f"--storage '{redact_password(url)}': unsupported scheme '{scheme}'. Use sqlite:///file.db, postgresql://user@host/db, "
            "mysql://... or a journal file path."
        )
    dsn = url  # with the installed driver named, for SQLAlchemy; messages show the URL as given, password masked
    if scheme in _DRIVERS and "+" not in url.split("://", 1)[0]:
        found = [d for m, d in _DRIVERS[scheme] if importlib.util.find_spec(m) is not None]
        if not found:
            raise UserError(f"--storage {scheme}:// needs a database driver: pip install {_INSTALL[scheme]}.")
        dsn = f"{scheme}+{found[0]}://" + url.split("://", 1)[1]
    kwargs = {"pool_pre_ping": True} if scheme != "sqlite" else None
    attempt = 0
    while True:
        try:
            with warnings.catch_warnings():  # ExperimentalWarning: Optuna's heartbeat is experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return _rdb_storage(dsn, kwargs, on_stale)
        except Exception as e:  # noqa: BLE001 - SQLAlchemy raises many types (bad URL, unreachable server)
            attempt += 1
            if _lost_schema_race(e) and attempt < _RETRIES:
                time.sleep(0.2 * attempt * (1 + random.random()))
                continue
            check = (
                "Check that the database file's folder exists and is writable."
                if scheme == "sqlite"
                else "Check the URL (user, host, port, database) and that the server accepts connections from here."
            )
            reason = f"{type(e).__name__}: {str(e).splitlines()[0].rstrip('.')}"
            raise UserError(redact_password(f"cannot open --storage '{url}': {reason}. {check}")) from None
