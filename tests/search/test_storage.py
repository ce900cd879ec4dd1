"""Shared Optuna storages: two concurrent ``ofa-edge search`` worker processes on one study,
on a journal file and on a real PostgreSQL server started here (Debian's ``postgresql``); the
heartbeat that marks FAIL the trials of a worker killed with SIGKILL."""

from __future__ import annotations

import collections
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from ofa_edge.errors import UserError
from ofa_edge.search import storage as storage_module
from ofa_edge.search.storage import open_storage, redact_password

TRIALS = 8


def _worker(args: list[str], env: dict[str, str], out: str) -> None:
    """One ``ofa-edge search`` process (forked: no second start-up of torch), JSON to ``out``."""
    import contextlib

    os.environ.update(env)
    from ofa_edge.cli.app import main

    with open(out, "w") as f, contextlib.redirect_stdout(f):
        code = main(args)
    os._exit(code)


def _workers(tables_dir: Path, storage: str, study: str, tmp: Path) -> list[dict]:
    """Two concurrent worker processes on one study; returns their JSON reports."""
    import multiprocessing

    env = {"OFA_EDGE_LATENCY_TABLES": str(tables_dir), "OFA_EDGE_HOME": str(tmp / "runs")}
    ctx = multiprocessing.get_context("fork")
    procs = []
    for seed in (1, 2):
        args = [
            "search",
            "--latency",
            "30ms",
            "--accuracy-proxy",
            "macs",
            "--algo",
            "tpe",
            "--trials",
            str(TRIALS),
            "--storage",
            storage,
            "--study",
            study,
            "--seed",
            str(seed),
            "--no-measure",
            "--json",
            "--out",
            str(tmp / f"w{seed}"),
        ]
        p = ctx.Process(target=_worker, args=(args, env, str(tmp / f"w{seed}.json")))
        p.start()
        procs.append(p)
    for p in procs:
        p.join(timeout=240)
        assert p.exitcode == 0
    return [json.loads((tmp / f"w{seed}.json").read_text()) for seed in (1, 2)]


def _check_shared(reports: list[dict], storage: str, study: str) -> None:
    import optuna

    s = optuna.load_study(study_name=study, storage=open_storage(storage))
    assert len(s.trials) == 2 * TRIALS
    # One study, not two: the worker that finished last read the other's trials too (whether the two
    # overlapped in time is up to the scheduler, so it is not asserted).
    assert max(r["search"]["trials_in_study"] for r in reports) == 2 * TRIALS
    assert all(r["search"]["study"] == study for r in reports)


def test_two_workers_share_a_journal_file(tables_dir, tmp_path):
    storage = str(tmp_path / "study.log")
    reports = _workers(tables_dir, storage, "journal-study", tmp_path)
    _check_shared(reports, storage, "journal-study")


def test_study_of_another_problem_is_refused(tables_dir, tmp_path):
    from ofa_edge.cli.app import main

    storage = str(tmp_path / "s.db")
    url = f"sqlite:///{storage}"
    args = [
        "search",
        "--accuracy-proxy",
        "macs",
        "--algo",
        "tpe",
        "--trials",
        "3",
        "--storage",
        url,
        "--study",
        "s",
        "--no-measure",
        "--json",
    ]
    assert main([*args, "--latency", "95ms"]) == 0
    assert main([*args, "--latency", "90ms"]) == 2


def test_bad_storage_urls():
    with pytest.raises(UserError, match="unsupported scheme 'redis'"):
        open_storage("redis://localhost")
    with pytest.raises(UserError, match="is a folder"):
        open_storage("/")


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("sqlite:////no/such/folder/study.db", "Check that the database file's folder exists and is writable."),
        ("postgresql://u@127.0.0.1:1/db", "Check the URL (user, host, port, database) and that the server accepts"),
    ],
)
def test_a_storage_that_cannot_be_opened_says_what_to_check(url, fix):
    """The message named the problem only (SQLAlchemy's first line), not what to do, and showed the URL as
    rewritten for the installed driver (postgresql+psycopg2://...) instead of the one given."""
    if url.startswith("postgresql"):
        pytest.importorskip("psycopg2")
    with pytest.raises(UserError) as e:
        open_storage(url)
    assert str(e.value).startswith(f"cannot open --storage '{url}': OperationalError: ")
    assert fix in str(e.value)


@pytest.mark.parametrize("content", ['{"a": 1}\n', "hello", '{"op_code": 0}\nnot json\n', "[1]\n"])
def test_a_file_that_is_no_journal_is_refused_untouched(tmp_path, content):
    path = tmp_path / "garbage.json"
    path.write_text(content)
    with pytest.raises(UserError) as e:
        open_storage(str(path))
    assert str(e.value) == f"--storage '{path}' is not an Optuna journal file; pass a new path or a journal."
    assert path.read_text() == content


def test_a_journal_empty_or_being_written_is_opened(tmp_path):
    import optuna

    path = tmp_path / "study.log"
    path.write_text("")
    optuna.create_study(storage=open_storage(str(path)), study_name="s").optimize(
        lambda t: t.suggest_float("x", 0, 1), 2
    )
    assert len(optuna.load_study(study_name="s", storage=open_storage(str(path))).trials) == 2
    with path.open("a") as f:
        f.write('{"op_code":4,"worker_id":"w"')  # another worker's record, half written
    open_storage(str(path))


def _states(path: Path, study: str) -> collections.Counter:
    """How many trials of the journal study are in each state (``RUNNING``, ``COMPLETE``, ``FAIL``)."""
    import optuna

    return collections.Counter(
        t.state.name for t in optuna.load_study(study_name=study, storage=open_storage(str(path))).trials
    )


def _hanging_worker(args: list[str], hang_at: int, hung: Any) -> None:
    """A worker whose ``hang_at``-th trial never ends: it sets ``hung`` and sleeps, to be killed mid-trial."""
    from ofa_edge.search.algorithms import optuna_search

    suggest, calls = optuna_search._suggest, itertools.count(1)

    def stuck(*a: Any) -> Any:
        if next(calls) == hang_at:
            hung.set()
            time.sleep(600)
        return suggest(*a)

    optuna_search._suggest = stuck
    _worker(args, {}, os.devnull)


def test_trials_of_a_worker_killed_mid_study_are_failed_on_resume(tables_dir, tmp_path, monkeypatch, capsys):
    """SIGKILL a worker in its 6th trial: that trial stays RUNNING (no process will finish it). Resumed
    once its heartbeat is older than the grace period, the search marks it FAIL, says so, and completes."""
    import multiprocessing

    from ofa_edge.cli.app import main

    path = tmp_path / "study.log"
    args = ["search", "--latency", "30ms", "--accuracy-proxy", "macs", "--algo", "tpe", "--storage", str(path)]
    args += ["--study", "s", "--no-measure", "--json", "--out", str(tmp_path / "out")]
    ctx = multiprocessing.get_context("fork")
    hung = ctx.Event()
    proc = ctx.Process(target=_hanging_worker, args=([*args, "--trials", "100"], 6, hung))
    proc.start()
    assert hung.wait(timeout=120), "the worker never reached its 6th trial"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL
    assert _states(path, "s") == {"COMPLETE": 5, "RUNNING": 1}

    monkeypatch.setattr(storage_module, "GRACE_PERIOD_S", 1)  # instead of waiting a minute
    time.sleep(1.2)
    capsys.readouterr()
    assert main([*args, "--trials", "3", "--seed", "1"]) == 0
    assert _states(path, "s") == {"COMPLETE": 8, "FAIL": 1}
    out, err = capsys.readouterr()
    assert json.loads(out)["search"]["stale_trials_failed"] == 1
    assert "1 trial of a killed run was marked FAIL" in " ".join(err.split())


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_heartbeat_fails_a_silent_trial_not_a_beating_one(tmp_path, monkeypatch, kind):
    """Of two RUNNING trials, the one whose worker still beats stays RUNNING; once the other has been
    silent for the grace period, another worker marks it FAIL and calls its callback for it."""
    import optuna

    monkeypatch.setattr(storage_module, "GRACE_PERIOD_S", 1)
    url = str(tmp_path / "study.log") if kind == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    live = open_storage(url)
    study_id = live.create_new_study([optuna.study.StudyDirection.MINIMIZE], "s")
    beating, silent = live.create_new_trial(study_id), live.create_new_trial(study_id)
    for trial_id in (beating, silent):
        live.record_heartbeat(trial_id)  # as Optuna does when a trial starts
    time.sleep(2.1)  # SQLite's clock counts whole seconds
    live.record_heartbeat(beating)
    failed: list[int] = []
    other = optuna.load_study(study_name="s", storage=open_storage(url, on_stale=lambda _, t: failed.append(t.number)))
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        optuna.storages.fail_stale_trials(other)
    assert [t.state.name for t in other.trials] == ["RUNNING", "FAIL"]
    assert failed == [1]


@pytest.mark.parametrize("kind", ["journal", "sqlite", "postgresql"])
def test_a_trial_killed_before_its_first_heartbeat_is_failed_too(tmp_path, monkeypatch, request, kind):
    """A worker killed while Optuna's sampler picked a trial's parameters left it RUNNING without a heartbeat,
    and Optuna's RDB storage never judged such a trial stale: it stayed RUNNING for ever. It is failed once
    silent for the grace period; one whose worker lives on and beats late is left alone."""
    import warnings

    import optuna

    monkeypatch.setattr(storage_module, "GRACE_PERIOD_S", 1)
    url = {
        "journal": lambda: str(tmp_path / "study.log"),
        "sqlite": lambda: f"sqlite:///{tmp_path / 'study.db'}",
        "postgresql": lambda: request.getfixturevalue("postgres"),
    }[kind]()
    workers = open_storage(url)
    study_id = workers.create_new_study([optuna.study.StudyDirection.MINIMIZE], "s")
    killed, sampling = workers.create_new_trial(study_id), workers.create_new_trial(study_id)  # neither beat yet
    failed: list[int] = []
    other = optuna.load_study(study_name="s", storage=open_storage(url, on_stale=lambda _, t: failed.append(t.number)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(other)  # both younger than the grace period
        time.sleep(2.1)  # SQLite's clock counts whole seconds
        for _ in range(2):  # the live worker's heartbeat thread starts: a beat as it starts, then another
            workers.record_heartbeat(sampling)
        optuna.storages.fail_stale_trials(other)
    assert [t.state.name for t in other.trials] == ["FAIL", "RUNNING"]
    assert failed == [0] and (killed, sampling) == (other.trials[0]._trial_id, other.trials[1]._trial_id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def postgres():
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free local port; root runs it as 'postgres'."""
    bins = [Path(p).resolve().parent for p in [shutil.which("initdb")] if p]
    bins += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    bindir = next((b for b in bins if all((b / x).exists() for x in ("initdb", "pg_ctl", "createdb"))), None)
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries not found (initdb, pg_ctl, createdb): CI must `apt-get install postgresql`"
        )
    import importlib.util

    if not any(importlib.util.find_spec(m) for m in ("psycopg2", "psycopg")):
        pytest.skip("no PostgreSQL driver: CI must `pip install psycopg2-binary`")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without `runuser`: cannot start PostgreSQL as an unprivileged user")
        as_user = ["runuser", "-u", "postgres", "--"]
    # Not under tmp_path: pytest's temp root is private to this user, the server runs as 'postgres'.
    root = Path(tempfile.mkdtemp(prefix="ofa-edge-pg-"))
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    run = lambda *a: subprocess.run([*as_user, *a], check=True, capture_output=True, text=True, timeout=120)
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
            "start",
        )
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL cluster: {e.stderr.strip()[:300]}")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "optuna")
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_a_postgresql_study(tables_dir, tmp_path, postgres):
    reports = _workers(tables_dir, postgres, "pg-study", tmp_path)
    _check_shared(reports, postgres, "pg-study")


def _open_at(storage: str, start: float) -> None:
    """Open ``storage`` at wall time ``start`` (forked worker); exit 0, or 1 with the error on stderr."""
    import sys
    import time

    time.sleep(max(0.0, start - time.time()))
    try:
        open_storage(storage)
    except UserError as e:
        print(e, file=sys.stderr)
        os._exit(1)
    os._exit(0)


def test_workers_starting_together_on_a_fresh_database_all_open_it(postgres):
    """Workers opening an empty database at once race to create Optuna's schema; the losers see
    PostgreSQL's DuplicateObject / DuplicateTable / UniqueViolation and must retry, not fail."""
    import multiprocessing
    import time

    import optuna.storages  # noqa: F401 - imported once here, before the fork, so the workers start together

    ctx = multiprocessing.get_context("fork")
    start = time.time() + 1.0
    procs = [ctx.Process(target=_open_at, args=(postgres, start)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * len(procs)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://u:s3cret@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("mysql+pymysql://u:p@ss:w@host/db", "mysql+pymysql://u:***@host/db"),
        ("cannot open 'postgresql://u:s3cret@h/db' now", "cannot open 'postgresql://u:***@h/db' now"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("runs/study.log", "runs/study.log"),
    ],
)
def test_a_storage_url_is_shown_without_its_password(text, shown):
    assert redact_password(text) == shown


@pytest.mark.parametrize("url", ["redis://u:s3cret@host/0", "postgresql://u:s3cret@127.0.0.1:notaport/db"])
def test_a_storage_that_is_refused_is_named_without_its_password(url):
    """Messages echoed --storage as given, password included (postgresql://user:pw@host/db)."""
    with pytest.raises(UserError) as e:
        open_storage(url)
    assert "s3cret" not in str(e.value) and "u:***@" in str(e.value)
