"""A run directory's record of its data: a resume on other images, classes or processes is named."""

from ofa_edge.train.rundir import data_mismatch, data_record

CLASSES = ["airplane", "automobile", "bird", "cat", "deer"]


def test_the_same_data_has_no_mismatch() -> None:
    assert data_mismatch(data_record(500, CLASSES, 1), data_record(500, CLASSES, 1)) == []


def test_each_difference_is_named_with_both_values() -> None:
    saved = data_record(500, CLASSES, 2)
    now = data_record(400, CLASSES[:3], 1)
    assert data_mismatch(saved, now) == [
        "training images: run has 500, now 400",
        "classes: run has 5 (airplane, automobile, bird, cat, ...), now 3 (airplane, automobile, bird)",
        "processes: run has 2, now 1",
    ]


def test_what_a_run_did_not_record_is_not_compared() -> None:
    assert data_mismatch({"train": {}}, data_record(500, CLASSES, 1)) == []
