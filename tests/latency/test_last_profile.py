"""The device of the last ``ofa-edge profile`` in a work folder: search's default device."""

from __future__ import annotations

from ofa_edge.latency.last_profile import last_profile, remember_profile
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES, last_profile_path


def test_the_last_profiled_device_is_remembered_while_its_table_is_there(tmp_path) -> None:
    assert last_profile() is None  # no profile here yet
    table = tmp_path / "orin.json"
    table.write_text("{}")
    remember_profile("jetson-orin", table)
    found = last_profile()
    assert found is not None and (found.device, found.table) == ("jetson-orin", table) and found.date
    table.unlink()  # its table gone: no default (search falls back to its own)
    assert last_profile() is None


def test_an_unreadable_note_is_no_default(tmp_path) -> None:
    last_profile_path().parent.mkdir(parents=True, exist_ok=True)
    for text in ("{", "[]", '{"device": "x"}', "\xff"):
        last_profile_path().write_text(text, errors="surrogateescape")
        assert last_profile() is None


def test_a_profile_that_left_its_table_unusable_is_no_default_device(tmp_path) -> None:
    """`profile --max-entries N` (or Ctrl-C) leaves a partial table: the next plain search failed loading it."""
    from ofa_edge.latency.last_profile import default_device

    assert default_device().name == "x86-cpu" and default_device().table is None
    partial = tmp_path / "orin.json"
    partial.write_text("{}")  # not a table search can use
    remember_profile("jetson-orin", partial)
    d = default_device()
    assert (d.name, d.table) == ("x86-cpu", None) and "left jetson-orin's table unreadable" in d.why  # not a table
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.complete = False  # an interrupted profile (--max-entries, Ctrl-C)
    table.save(partial)
    assert "left jetson-orin's table incomplete" in default_device().why


def test_an_unusable_last_table_is_read_once(tmp_path, monkeypatch) -> None:
    """Telling a partial table from a damaged one read it a second time (and a full table's JSON can be MBs)."""
    from ofa_edge.latency.last_profile import default_device

    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.complete = False
    partial = tmp_path / "orin.json"
    table.save(partial)
    remember_profile("jetson-orin", partial)
    reads = []
    monkeypatch.setattr(LatencyTable, "from_dict", lambda data, source, device: reads.append(source) or table)
    assert "left jetson-orin's table incomplete" in default_device().why
    assert reads == [str(partial)]
