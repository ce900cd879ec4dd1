"""The one reader of a table's validation report, as search's error bar and the estimate's reference error use it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ofa_edge.io import atomic_write_json
from ofa_edge.latency.e2e import validation_path
from ofa_edge.latency.validate import read_validation, validated_error, validation_report
from ofa_edge.paths import SHIPPED_TABLES


def _report(small_table, tmp_path):
    """``small_table`` saved in ``tmp_path`` with a validation report of 12 subnets beside it: (path, configs,
    measured ms)."""
    path = tmp_path / "x86-cpu.json"
    small_table.save(path)
    rng = np.random.default_rng(0)
    configs = [dataclasses.replace(small_table.search_space.sample(rng), resolution=24) for _ in range(12)]
    measured = small_table.predict(configs) * np.linspace(0.95, 1.05, 12)
    atomic_write_json(validation_path(path), validation_report(small_table, configs, measured, seed=0))
    return path, configs, measured


def test_the_rows_read_back_are_those_written(small_table, tmp_path):
    path, configs, measured = _report(small_table, tmp_path)
    rows = read_validation(path)
    assert rows is not None and rows.path == validation_path(path) and rows.configs == configs
    np.testing.assert_allclose(rows.measured_ms, measured)
    np.testing.assert_allclose(rows.predicted_ms, small_table.predict(configs))
    assert rows.document["seed"] == 0 and validated_error(small_table, path)["subnets"] == 12


def test_no_report_is_none_and_a_damaged_one_names_its_fault(small_table, tmp_path):
    path = tmp_path / "x86-cpu.json"
    assert read_validation(path) is None and validated_error(small_table, path) is None
    validation_path(path).parent.mkdir()
    for content, fault in (
        ("{not json", "JSONDecodeError"),
        ('{"subnets": [{"config": {}}]}', "ConfigError"),
        ('{"subnets": 3}', "TypeError"),
        ('{"rows": []}', "KeyError"),
    ):
        validation_path(path).write_text(content)
        with pytest.raises(ValueError, match=fault):
            read_validation(path)
        assert validated_error(small_table, path) is None  # search quotes no error bar then


def test_the_shipped_reports_read():
    for device in ("h100", "x86-cpu"):
        rows = read_validation(SHIPPED_TABLES / f"{device}.json")
        assert rows is not None and len(rows.configs) == len(rows.measured_ms) == len(rows.predicted_ms) == 200
