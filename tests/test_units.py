"""Command-line quantities: durations with units, and range checks that NaN cannot slip through."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.units import check_range, parse_count, parse_duration_s, parse_latency_ms, spaced_value


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("540s", 540), ("540", 540), ("9min", 540), ("90m", 5400), ("2h", 7200), ("1h30m", 5400),
     ("1h 30min", 5400), ("0.5h", 1800), ("30sec", 30), ("250ms", 0.25), (" 2 h ", 7200)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text, "--time-limit") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2 hours", "nan", "inf", "-5s", "2hm", "", "h", "540 540"])
def test_unreadable_durations_name_the_option_and_examples(text: str) -> None:
    with pytest.raises(UserError, match=r"^--time-limit '.*': not a duration; give one like 540s, 90m or 2h"):
        parse_duration_s(text, "--time-limit")


@pytest.mark.parametrize("text", ["0", "0s", "1e999s"])
def test_durations_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(UserError, match=r"^--time-limit '.*': must be positive, e.g. 540s"):
        parse_duration_s(text, "--time-limit")


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        (float("nan"), {"gt": 0}, "--x nan: must be a finite number > 0."),
        (float("inf"), {"ge": 0}, "--x inf: must be a finite number >= 0."),
        (float("-inf"), {}, "--x -inf: must be a finite number."),
        (1.0, {"ge": 0, "lt": 1}, "--x 1: must be in [0, 1)."),
        (0.0, {"gt": 0, "le": 1}, "--x 0: must be in (0, 1]."),
        (0, {"ge": 1}, "--x 0: must be >= 1."),
        (5, {"lt": 3}, "--x 5: must be < 3."),
    ],
)
def test_check_range_names_the_option_and_value(value: float, bounds: dict, message: str) -> None:
    with pytest.raises(UserError) as e:
        check_range("--x", value, **bounds)
    assert str(e.value) == message


def test_check_range_passes_values_in_range_and_unset_options() -> None:
    check_range("--x", 0.0, ge=0, lt=1)
    check_range("--x", 1, ge=1, hint="(ignored)")
    check_range("--x", None, gt=0)


@pytest.mark.parametrize("value", ["20", [20], True])
def test_check_range_refuses_what_is_not_a_number(value: object) -> None:
    """A Python caller's ``population="20"`` (SearchOptions, TrainConfig) raised a bare TypeError."""
    with pytest.raises(UserError, match=r"^--x .*: must be a number"):
        check_range("--x", value, ge=1)


@pytest.mark.parametrize(("parse", "value"), [(parse_latency_ms, 15.0), (parse_count, 3e8)])
def test_quantities_given_as_numbers_ask_for_text_with_a_unit(parse, value: float) -> None:
    with pytest.raises(UserError, match=r"as text .*e\.g\. '"):
        parse(value)


@pytest.mark.parametrize(("text", "ms"), [("15ms", 15), ("+15ms", 15), ("900us", 0.9), ("0.015s", 15), (" 2 ms ", 2)])
def test_latencies(text: str, ms: float) -> None:
    assert parse_latency_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["-3ms", "0ms", "1e999ms", "-0.0s"])
def test_latencies_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(UserError, match=r"must be a positive, finite time, e.g. 15ms"):
        parse_latency_ms(text)


@pytest.mark.parametrize(("text", "count"), [("300M", 3e8), ("5k", 5e3), ("1.2G", 1.2e9), ("42", 42), ("+1M", 1e6)])
def test_counts(text: str, count: float) -> None:
    assert parse_count(text) == pytest.approx(count)


@pytest.mark.parametrize("text", ["-2M", "0", "1e999", "1e400G"])
def test_counts_must_be_positive_and_finite(text: str) -> None:
    with pytest.raises(UserError, match=r"^--flops '.*' must be a positive, finite number, e.g. 300M"):
        parse_count(text, "--flops")


@pytest.mark.parametrize(
    "args",
    [["search", "--latency", "15ms"], ["devices", "--json", "x86-cpu"], ["search", "--seed", "3", "--json"],
     ["space", "mbv3-w1.0-cifar"], ["search", "--latency", "15ms,4ms"]],
)  # fmt: skip
def test_whole_option_values_are_not_flagged(args: list[str]) -> None:
    assert spaced_value(args) is None
