"""An export request built in Python is checked as the command checks its options, before any work."""

from __future__ import annotations

import pytest

from ofa_edge import SearchSpace
from ofa_edge.errors import UserError
from ofa_edge.export import ExportRequest


def _request(tmp_path, **options) -> ExportRequest:
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    fields = {"format": "onnx", "subnet": cfg, "supernet": tmp_path / "n", "out": tmp_path / "b", "data": tmp_path}
    return ExportRequest(**(fields | options))


@pytest.mark.parametrize("subnet", [{"space": "mbv3-w1.0-cifar"}, "subnet.json"])
def test_a_subnet_that_is_not_a_subnet_config_is_a_user_error(tmp_path, subnet):
    """A dict or a path reached export_bundle, which failed deep inside with an AttributeError."""
    with pytest.raises(UserError, match=r"subnet must be a SubnetConfig, got (dict|str); .*SubnetConfig\.load"):
        _request(tmp_path, subnet=subnet)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "ort", "half": True}, "--half is not supported for format 'ort'"),
        ({"max_batch": 4}, "--max-batch is not supported for format 'onnx'"),
        ({"bn_images": 0}, "--bn-images 0: must be >= 1"),
        ({"calib_images": "256"}, "--int8-calib-images '256': must be a number"),
        ({"verify_images": 0}, "verify_images 0: must be >= 1"),
        ({"int8": True, "half": True}, r"int8 and half \(--int8, --half\) exclude each other"),  # was found in export
    ],
)
def test_options_the_command_refuses_are_refused_in_python_too(tmp_path, options, message):
    """ort with half=True ran the whole export, then crashed with KeyError 'model_fp16.ort'; counts of 0 gave
    numpy's 'need at least one array to stack'; max_batch without an engine was silently ignored."""
    with pytest.raises(UserError, match=message):
        _request(tmp_path, **options)


def test_an_engine_takes_its_max_batch(tmp_path):
    assert _request(tmp_path, format="trt", dynamic_batch=True, max_batch=4).max_batch == 4
