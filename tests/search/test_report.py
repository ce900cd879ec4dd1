"""What a search writes: its output folder and ``last_search.json`` as one consistent set."""

from __future__ import annotations

import json
import threading

from ofa_edge.io import hold_lock


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
