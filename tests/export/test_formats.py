"""The formats table: canonical names, aliases, suggestions, allowed flags."""

from __future__ import annotations

import re

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.formats import FORMATS, check_flags, engine_half, engine_table, get_format


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
    with pytest.raises(UserError, match=r"half \(--half\) is not supported for format 'ort'"):
        check_flags(get_format("ort"), half=True)


ORIN = {"device": "jetson-orin", "precision": "fp16", "backend": "tensorrt"}
X86 = {"device": "x86-cpu", "precision": "fp32", "backend": "onnxruntime-cpu"}
H100 = {"device": "h100", "precision": "fp16", "backend": "torch-cuda-graphs"}


@pytest.mark.parametrize(
    ("fmt", "half", "int8", "table", "want_half", "says", "warns"),
    [
        ("trt", None, False, ORIN, True, "precision fp16", None),  # follows the searched table
        ("trt", True, False, ORIN, True, None, None),
        ("trt", False, False, ORIN, False, None, "this engine is fp32"),  # kept, with a warning
        ("trt", None, True, ORIN, False, None, "this engine is int8"),
        ("trt", True, False, {"device": "h100", "precision": "fp32"}, True, None, "follows the table"),
        ("trt", None, False, {}, False, "precision fp32: no searched table", None),  # no search: fp32, said
        ("trt", None, False, X86, False, "precision fp32", "not for a TensorRT engine"),  # a CPU's search
        ("trt", True, False, X86, True, None, "fp16 but .* Also, the search predicted latency for x86-cpu"),
        ("trt", None, False, H100, True, "precision fp16", "with torch-cuda-graphs, not for a TensorRT engine"),
        ("onnx", None, False, ORIN, False, None, None),  # an ONNX model's precision is set at engine build
    ],
)
def test_engine_precision_follows_the_searched_table(fmt, half, int8, table, want_half, says, warns):
    chosen = engine_half(get_format(fmt), half, int8, table)
    got, note, warning = chosen.half, chosen.note, chosen.warning
    assert got is want_half
    assert (note is None) == (says is None) and (says is None or says in note)
    assert (warning is None) == (warns is None) and (warns is None or re.search(warns, warning))


@pytest.mark.parametrize(
    ("tables", "want"),
    [
        ([X86, ORIN], ORIN),  # `--device x86-cpu --device jetson-orin`: the engine is the Orin's
        ([ORIN, X86], ORIN),
        ([X86, H100], X86),  # no TensorRT device searched: the first one's, as before
        ([], {}),
    ],
)
def test_an_engine_follows_the_tensorrt_device_of_a_multi_device_search(tables, want):
    assert engine_table(tables) == want
    chosen = engine_half(get_format("trt"), None, False, engine_table(tables))
    assert chosen.half is (want.get("precision") == "fp16")
    assert (chosen.warning is not None) == (want is X86)  # the Orin's predicted latency is an engine's
