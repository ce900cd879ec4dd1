"""The end-to-end correction's bookkeeping: a measured table without one is named, with the command that fits it."""

from __future__ import annotations

import json

from ofa_edge.latency.calibrate import uncorrected_warning
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES, latency_tables_dir


def test_a_measured_table_without_a_correction_is_named_with_the_command_that_fits_one(tmp_path):
    shipped = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    assert uncorrected_warning("x86-cpu", shipped, SHIPPED_TABLES / "x86-cpu.json") is None
    pixel = SHIPPED_TABLES / "pixel-8.json"
    assert uncorrected_warning("pixel-8", LatencyTable.load(pixel), pixel) is None  # estimated: another warning
    doc = json.loads((SHIPPED_TABLES / "x86-cpu.json").read_text()) | {"correction": None}
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(doc))
    message = uncorrected_warning("x86-cpu", LatencyTable.load(copy), copy)
    assert "has no end-to-end correction" in message
    assert f"`ofa-edge profile --device x86-cpu -o {copy} --calibrate 100` (minutes" in message
    pi = json.loads((SHIPPED_TABLES / "raspberry-pi-5.json").read_text())
    pi["provenance"]["kind"] = "measured"  # as if fetched from the board over --ssh
    (tmp_path / "pi.json").write_text(json.dumps(pi))
    remote = uncorrected_warning("raspberry-pi-5", LatencyTable.load(tmp_path / "pi.json"), tmp_path / "pi.json")
    assert "--calibrate 100 --ssh user@host` (or run it on the device; minutes" in remote  # not timed here
    yours = latency_tables_dir() / "x86-cpu.json"
    yours.parent.mkdir(parents=True)
    yours.write_text(json.dumps(doc))
    assert "`ofa-edge profile --device x86-cpu --calibrate 100` (minutes" in uncorrected_warning(
        "x86-cpu", LatencyTable.load(yours), yours
    )
    assert "`ofa-edge profile --device ghost -o" in uncorrected_warning("ghost", LatencyTable.load(copy), copy)
    assert "--ssh user@host" in uncorrected_warning("ghost", LatencyTable.load(copy), copy)


def test_a_correction_that_misses_its_own_subnets_is_named(tmp_path):
    from ofa_edge.latency.calibrate import loose_fit_warning

    store = tmp_path / "reports" / "t.e2e.json"
    assert loose_fit_warning({"fit_mape_pct": 1.6, "fitted_on": 100}, store) is None
    assert loose_fit_warning(None, store) is None
    message = loose_fit_warning({"fit_mape_pct": 23.4, "fitted_on": 10}, store)
    assert "misses its own 10 subnets by 23.4% on average" in message and f"delete {store}" in message
