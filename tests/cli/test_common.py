"""Shared CLI pieces: the data a command takes when --data is not given."""

from __future__ import annotations

import pytest

from ofa_edge.cli.common import data_arg
from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.data.sample import SAMPLE_IMAGES, SAMPLE_ROOT, sample_classes
from ofa_edge.errors import UserError, for_cli


def test_given_data_is_taken_as_it_is_and_not_announced(tmp_path, capsys):
    assert data_arg(tmp_path, sample_classes(), {"--limit": 10**6}) == tmp_path
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("nope", "dataset folder '{}' does not exist; check the path given to --data"),
        ("a.txt", "--data '{}' is a file; pass the dataset folder."),
    ],
)
def test_given_data_that_is_no_folder_is_refused_as_export_refuses_it(tmp_path, name, said):
    """eval, prune and quickstart took a missing --data (or a file) and failed only where they read it."""
    (tmp_path / "a.txt").write_text("")
    with pytest.raises(UserError) as e:
        data_arg(tmp_path / name, sample_classes(), {})
    assert said.format(tmp_path / name) in for_cli(e.value)


def test_the_default_data_is_said(capsys):
    """Every command that reads images (eval, export, prune) names the folder it picked, in the same words."""
    picked = data_arg(None, ["cat", "dog"], {})  # not a CIFAR-10 model: the default folder, never the sample
    assert picked == DEFAULT_ROOT
    assert f"data: {DEFAULT_ROOT} (default CIFAR-10; $OFA_EDGE_DATA sets it)" in " ".join(
        capsys.readouterr().err.split()
    )


def test_a_cifar10_model_without_the_default_folder_takes_the_shipped_sample(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("ofa_edge.data.DEFAULT_ROOT", tmp_path / "absent")
    assert data_arg(None, sample_classes(), {"--bn-images": SAMPLE_IMAGES}) == SAMPLE_ROOT
    assert (
        f"no --data, and no CIFAR-10 at {tmp_path / 'absent'} ($OFA_EDGE_DATA): using the CIFAR-10 sample"
        in " ".join(capsys.readouterr().err.split())
    )
    assert data_arg(None, ["cat", "dog"], {}) == tmp_path / "absent"  # another task: the default, named missing
    with pytest.raises(UserError, match=r"fewer than --bn-images 2001\. Pass --data"):
        data_arg(None, sample_classes(), {"--bn-images": SAMPLE_IMAGES + 1})


def test_every_data_option_names_the_layouts_and_the_default_alike() -> None:
    """Six commands worded --data six ways ('CIFAR binary', 'CIFAR', none; '$OFA_EDGE_DATA' with or without
    'CIFAR-10 at'); those that fall back to the shipped sample say so."""
    from ofa_edge.cli.app import COMMANDS, load_command

    helps = {
        name: p.help
        for name in COMMANDS
        for p in load_command(name).params
        if getattr(p, "opts", None) and "--data" in p.opts
    }
    assert set(helps) == {"quickstart", "train", "eval", "search", "export", "prune"}
    for name, text in helps.items():
        assert text.startswith("Dataset folder (packed JPEG, CIFAR or ImageFolder tree) "), name
        sample = name not in ("train", "search")  # data_arg's fallback: the commands that take it
        assert text.endswith(
            "(default: CIFAR-10 at $OFA_EDGE_DATA"
            + (", else the CIFAR-10 sample shipped with the embedded supernet)." if sample else ").")
        ), name
