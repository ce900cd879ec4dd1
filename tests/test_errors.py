"""The shared wording of user errors: one refusal sentence and one spelling hint for every command."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError, did_you_mean, for_cli, option_name, refuse_options

TEMPLATE = "{given} set{s} the INT8 quantization: add --int8, or drop {them} ({is} ignored)."


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["--a"], "--a sets the INT8 quantization: add --int8, or drop it (is ignored)."),
        (["--a", "--b"], "--a and --b set the INT8 quantization: add --int8, or drop them (are ignored)."),
        (["--a", "--b", "--c"], "--a, --b and --c set the INT8 quantization: add --int8, or drop them (are ignored)."),
    ],
)
def test_refuse_options_agrees_with_the_number_of_options(given: list[str], expected: str) -> None:
    with pytest.raises(UserError) as err:
        refuse_options(given, TEMPLATE)
    assert str(err.value) == expected


def test_refuse_options_passes_when_nothing_was_given() -> None:
    refuse_options([], TEMPLATE)


def test_did_you_mean_names_the_closest_word_or_nothing() -> None:
    assert did_you_mean("onxx", ["onnx", "trt"]) == " Did you mean 'onnx'?"
    assert did_you_mean("zzzz", ["onnx", "trt"]) == ""


def test_did_you_mean_ignores_case():
    """`--device JETSON-ORIN` (caps lock, or a name copied from a datasheet) got no suggestion at all."""
    assert did_you_mean("JETSON-ORIN", ["jetson-orin", "x86-cpu"]) == " Did you mean 'jetson-orin'?"
    assert did_you_mean("X86-CPUU", ["jetson-orin", "x86-cpu"]) == " Did you mean 'x86-cpu'?"


def test_for_cli_names_an_option_by_its_flag_alone():
    """A message names an option for a Python caller as field and flag; the command line says the flag, as every
    command does, and leaves other parentheses alone."""
    said = "max_batch (--max-batch) 0: add int8 (--int8) or calib_images (--int8-calib-images); net (--supernet)"
    assert for_cli(UserError(said)) == "--max-batch 0: add --int8 or --int8-calib-images; net (--supernet)"
    assert for_cli("the pruned network (--slim) keeps its BN") == "the pruned network (--slim) keeps its BN"


def test_option_name_pairs_a_field_with_its_flag():
    assert option_name("target_sparsity") == "target_sparsity (--target-sparsity)"
    assert option_name("calib_images", "--bn-images") == "calib_images (--bn-images)"


@pytest.mark.parametrize(
    ("field", "flag"),
    [("calib_images", "--bn-images"), ("time_limit_s", "--time-limit"), ("devices", "--device"), ("data", "--data")],
)
def test_for_cli_names_a_renamed_field_by_its_flag(field: str, flag: str):
    """A field named otherwise than its flag (train's calib_images is --bn-images, search's devices is a repeated
    --device) read 'calib_images (--bn-images) 0' on the command line."""
    assert for_cli(f"{option_name(field, flag)} 0: must be >= 1.") == f"{flag} 0: must be >= 1."
