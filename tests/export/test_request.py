"""An export request built in Python is checked as the command checks its options, before any work."""

from __future__ import annotations

import pytest

from ofa_edge import SearchSpace
from ofa_edge.errors import UserError, for_cli
from ofa_edge.export import ExportRequest
from ofa_edge.export.request import (
    FEW_CALIB_IMAGES,
    MANY_CALIB_IMAGES,
    MAX_OPSET,
    ImageCounts,
    few_calib_images_warning,
    many_calib_images_note,
)


def _request(tmp_path, **options) -> ExportRequest:
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    fields = {"format": "onnx", "subnet": cfg, "supernet": tmp_path / "n", "out": tmp_path / "b", "data": tmp_path}
    return ExportRequest(**(fields | options))


@pytest.mark.parametrize("subnet", [{"space": "mbv3-w1.0-cifar"}, "subnet.json"])
def test_a_subnet_that_is_not_a_subnet_config_is_a_user_error(tmp_path, subnet):
    """A dict or a path reached export_bundle, which failed deep inside with an AttributeError."""
    with pytest.raises(UserError, match=r"subnet: expected a SubnetConfig, got (dict|str); .*SubnetConfig\.load"):
        _request(tmp_path, subnet=subnet)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "ort", "half": True}, r"half \(--half\) is not supported for format 'ort'"),
        ({"max_batch": 4}, r"max_batch \(--max-batch\) is not supported for format 'onnx'"),
        ({"max_batch": 32}, r"max_batch \(--max-batch\) is not supported for format 'onnx'"),  # the default, given
        ({"bn_images": 0}, r"bn_images \(--bn-images\) 0: must be >= 1"),
        ({"slim": "slim.json", "bn_images": 2000}, r"^bn_images \(--bn-images\) sets .* own BN statistics: drop it"),
        ({"int8": True, "calib_images": "256"}, r"calib_images \(--int8-calib-images\) '256': must be a number"),
        ({"verify_images": 0}, "verify_images 0: must be >= 1"),
        ({"int8": True, "half": True}, r"int8 \(--int8\) and half \(--half\) exclude each other"),  # found in export
        (
            {"format": "trt", "max_batch": 64},
            r"max_batch \(--max-batch\) sets .* add dynamic_batch \(--dynamic-batch\)",
        ),
        ({"format": "trt", "max_batch": 32}, r"max_batch \(--max-batch\) sets .* add dynamic_batch"),
        (
            {"calib_images": 64},
            r"^calib_images \(--int8-calib-images\) sets the INT8 quantization: add int8 \(--int8\)",
        ),
        ({"eval_images": 2000}, r"^eval_images \(--int8-eval-images\) sets the INT8 quantization"),
        ({"opset": 12}, r"^opset \(--opset\) 12: must be in \[13, 20\] \(13: the first with the per-channel"),
        ({"opset": 21}, r"^opset \(--opset\) 21: must be in \[13, 20\] .* 20: the newest torch's TorchScript"),
        (
            {"calib_images": 8, "eval_images": 8},
            r"^calib_images \(--int8-calib-images\) and eval_images \(--int8-eval-images\) set .*, or drop them\.$",
        ),
    ],
)
def test_options_the_command_refuses_are_refused_in_python_too(tmp_path, options, message):
    """ort with half=True ran the whole export, then crashed with KeyError 'model_fp16.ort'; counts of 0 gave
    numpy's 'need at least one array to stack'; max_batch without an engine was silently ignored, and without
    dynamic_batch (or the INT8 image counts without int8) Python took what the command refused."""
    with pytest.raises(UserError, match=message):
        _request(tmp_path, **options)


@pytest.mark.parametrize(
    ("options", "python", "cli"),
    [
        ({"max_batch": 0, "dynamic_batch": True, "format": "trt"}, "max_batch (--max-batch) 0:", "--max-batch 0:"),
        (
            {"calib_images": 64},
            "calib_images (--int8-calib-images) sets the INT8 quantization: add int8 (--int8), or drop it.",
            "--int8-calib-images sets the INT8 quantization: add --int8, or drop it.",
        ),
        (
            {"format": "ort", "half": True},
            "half (--half) is not supported for format 'ort'. It takes: dynamic_batch (--dynamic-batch), int8 (--int8).",
            "--half is not supported for format 'ort'. It takes: --dynamic-batch, --int8.",
        ),
    ],
)
def test_a_refusal_names_the_field_for_python_and_the_flag_for_the_command_line(tmp_path, options, python, cli):
    """One rule set, two readers: the command said 'max_batch (--max-batch) 0' where every other command says
    '--opt 0'; a Python caller keeps the field name."""
    with pytest.raises(UserError) as caught:
        _request(tmp_path, **options)
    assert str(caught.value).startswith(python)
    assert for_cli(caught.value).startswith(cli)


def test_an_engine_takes_its_max_batch(tmp_path):
    assert _request(tmp_path, format="trt", dynamic_batch=True, max_batch=4).engine_max_batch == 4
    assert _request(tmp_path, format="trt", dynamic_batch=True).engine_max_batch == 32  # the default
    assert _request(tmp_path, format="trt").engine_max_batch is None  # a static batch of 1


def test_the_int8_image_counts_default_where_not_given(tmp_path):
    assert _request(tmp_path, int8=True).images == ImageCounts(bn=2000, int8_calib=256, int8_eval=2000)
    given = _request(tmp_path, int8=True, calib_images=16, eval_images=50).images
    assert (given.int8_calib, given.int8_eval) == (16, 50)


def test_the_opset_defaults_where_not_given_and_the_command_carries_it(tmp_path):
    """The opset was fixed at 17: a runtime or converter that reads only older opsets had no way to ask."""
    assert _request(tmp_path).onnx_opset == 17 and "--opset" not in _request(tmp_path).command()
    assert _request(tmp_path, opset=13).onnx_opset == 13
    assert _request(tmp_path, opset=13).command().endswith(" --opset 13")


def test_the_int8_range_to_max_opset_is_what_torchs_exporter_writes():
    """MAX_OPSET is torch's TorchScript exporter's newest opset (private constant; checked where torch has it)."""
    constants = pytest.importorskip("torch.onnx._constants")
    newest = getattr(constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", None)
    if newest is None:
        pytest.skip("this torch names no TorchScript exporter maximum")
    assert newest == MAX_OPSET


def test_a_few_int8_calibration_images_warn():
    """One calibration image ran without a word; measured, it cost up to 3.2 points of top-1."""
    assert few_calib_images_warning(FEW_CALIB_IMAGES) is None and few_calib_images_warning(256) is None
    message = for_cli(few_calib_images_warning(1))
    assert message.startswith("--int8-calib-images 1: min-max calibration") and "Use 8 or more" in message
    assert few_calib_images_warning(500, available=1000) is None
    held = for_cli(few_calib_images_warning(500, available=3))  # the default count, from a dataset of 3 images
    assert held.startswith("--int8-calib-images 500 (the data holds 3 training image(s), all used): min-max")


def test_the_bn_image_count_defaults_where_not_given(tmp_path):
    assert _request(tmp_path).images.bn == 2000
    assert _request(tmp_path, bn_images=16).images.bn == 16


def test_the_command_that_makes_the_bundle_again_carries_its_options(tmp_path) -> None:
    """The bundle's README said `ofa-edge export --subnet subnet.json` reproduces it, which exports another bundle
    for any export with options (an engine of another precision, BN on 2,000 images where it had 200, ...)."""
    net, data = (tmp_path / "n").absolute(), tmp_path.absolute()
    engine = _request(tmp_path, format="trt", half=True, dynamic_batch=True, max_batch=16, bn_images=200)
    assert engine.command() == (
        f"ofa-edge export --subnet subnet.json --supernet {net} --format engine --data {data} --half --dynamic-batch "
        "--max-batch 16 --bn-images 200"
    )
    assert "--no-half" in _request(tmp_path, format="trt").command()  # not the precision a search's table may pick
    slim = _request(tmp_path, slim=tmp_path / "slim.json", int8=True, calib_images=64)
    assert slim.command() == (
        f"ofa-edge export --slim {tmp_path.absolute() / 'slim.json'} --format onnx --data {data} --int8 "
        "--int8-calib-images 64"
    )


@pytest.mark.parametrize(
    ("options", "half", "chosen_by"),
    [
        ({}, True, "table"),  # follows the Orin's fp16 table, as the command does
        ({"half": False}, False, "--no-half"),  # a Python caller's explicit half= is recorded as its flag
        ({"half": True}, True, "--half"),
        ({"int8": True}, False, "--int8"),
    ],
)
def test_a_python_engine_request_records_what_set_its_precision(tmp_path, options, half, chosen_by) -> None:
    """Only the command decided an engine's precision from the searched table; a Python request took fp32 and
    recorded nothing of what chose it."""
    orin = {"device": "jetson-orin", "precision": "fp16", "backend": "tensorrt"}
    req = _request(tmp_path, format="trt", engine_table=orin, **options)
    assert req.half is half
    assert req.precision.source == {"device": "jetson-orin", "precision": "fp16", "chosen_by": chosen_by}
    assert _request(tmp_path, format="trt").precision.source == {
        "device": None,
        "precision": None,
        "chosen_by": "default",
    }
    assert _request(tmp_path, engine_table=orin).precision.source is None  # an ONNX model has no engine precision


def test_a_calibration_count_that_takes_minutes_is_noted_with_what_others_use() -> None:
    """--int8-calib-images 50000 calibrated on all of CIFAR-10's training images for over 5 minutes, unsaid."""
    assert many_calib_images_note(MANY_CALIB_IMAGES) is None
    assert many_calib_images_note(100_000, available=2_000) is None  # the data holds few: all of them, quickly
    message = " ".join(for_cli(many_calib_images_note(100_000, available=50_000)).split())
    assert message.startswith("INT8 calibration on 50,000 images: it runs the FP32 model on each image")
    assert "TensorRT and Ultralytics calibrate on 500 to 1,000 images; --int8-calib-images 1000" in message
