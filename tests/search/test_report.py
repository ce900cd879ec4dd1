"""What a search writes: its output folder and ``last_search.json`` as one consistent set."""

from __future__ import annotations

import json
import threading

from ofa_edge.io import hold_lock
from ofa_edge.paths import last_search_path


def test_a_search_waits_while_another_writes_the_same_out(cli, tmp_path) -> None:
    """Two searches into one --out (a shared study's workers default to the same one) interleaved their
    files: one's subnet.json beside the other's search.json and last_search.json. The second now waits."""
    out, results = tmp_path / "s", []
    search = threading.Thread(
        target=lambda: results.append(cli("search", "--latency", "3ms", "--no-measure", "--out", str(out)))
    )
    with hold_lock(tmp_path / ".s.lock", "busy"):  # another search is writing s/
        search.start()
        search.join(10)  # the search itself takes a few seconds
        assert search.is_alive() and not (out / "subnet.json").exists()
    search.join(120)
    assert results and results[0][0] == 0
    subnet = json.loads((out / "subnet.json").read_text())
    assert json.loads((out / "search.json").read_text())["subnet"] == subnet
    assert not (tmp_path / ".s.lock").exists()


def test_a_full_disk_leaves_the_previous_set_in_out_whole(cli, full_disk, fill_disk) -> None:
    """--out's files were written one by one: a full disk mid-set left the new subnet.json beside the old
    search.json. Now nothing in --out changes unless the whole set was written; a user's file there stays."""
    out = full_disk / "s"
    assert cli("search", "--latency", "3ms", "--no-measure", "--out", str(out))[0] == 0
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    last = last_search_path().read_bytes()
    fill_disk(20_000)  # room for subnet.json and pareto.csv, not for the whole set
    code, _, err = cli("search", "--latency", "5ms", "--no-measure", "--out", str(out))
    assert code == 2 and f"cannot write '{out}/pareto." in " ".join(err.split())  # a file of --out, not the stage
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert last_search_path().read_bytes() == last
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "s"]  # no stage, no lock
