"""The formats table: canonical names, aliases, suggestions, allowed flags."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.formats import FORMATS, check_flags, get_format


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("onnx", "onnx"),
        ("trt", "engine"),
        ("TensorRT", "engine"),
        ("engine", "engine"),
        ("ort", "ort"),
        (".onnx", "onnx"),
    ],
)
def test_names_and_aliases(name, canonical):
    assert get_format(name).name == canonical


@pytest.mark.parametrize(("typo", "suggestion"), [("onx", "onnx"), ("tensorrrt", "tensorrt"), ("engin", "engine")])
def test_unknown_name_suggests_nearest(typo, suggestion):
    with pytest.raises(UserError, match=f"Did you mean '{suggestion}'"):
        get_format(typo)


def test_every_name_is_unique_and_suffixes_are_dotted():
    names = [n for f in FORMATS for n in f.names]
    assert len(names) == len(set(names))
    assert all(f.suffix.startswith(".") for f in FORMATS)


def test_flag_not_taken_by_a_format_is_refused():
    check_flags(get_format("trt"), half=True, int8=False)
    with pytest.raises(UserError, match="--half is not supported for format 'ort'"):
        check_flags(get_format("ort"), half=True)
