"""Packages that import their exports on first use still list them, and refuse names they lack."""

from __future__ import annotations

import importlib

import pytest

LAZY_PACKAGES = [
    "ofa_edge",
    "ofa_edge.data",
    "ofa_edge.export",
    "ofa_edge.search",
    "ofa_edge.supernet",
    "ofa_edge.train",
    "ofa_edge.train.spfde",
]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_export_is_listed_and_importable(name: str) -> None:
    package = importlib.import_module(name)
    assert set(package.__all__) <= set(dir(package))  # before and after first use
    for export in package.__all__:
        assert getattr(package, export) is not None
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018
