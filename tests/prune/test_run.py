"""A prune run on real CIFAR-10 images resumes from its per-epoch checkpoint to the same result."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import nn

from ofa_edge.data.transforms import Preprocess
from ofa_edge.errors import UserError
from ofa_edge.prune import partition
from ofa_edge.prune.run import PruneSettings, ignored_options, resumes, train_and_prune

PREP = Preprocess(32, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))


class _Stop(Exception):
    pass


class _WithDropout(nn.Module):
    """A network whose training draws from torch's global generator (dropout), as a subnet's head does."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body, self.drop = body, nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.body(x))


@pytest.mark.parametrize(
    ("method", "dropout", "ckpt_every"),
    [("hesso", False, 0), ("hspg", False, 0), ("hesso", True, 0), ("hesso", True, 1), ("hspg", True, 2)],
)
def test_interrupted_run_resumes_to_the_same_weights(
    tiny_resnet, cifar_test_small, tmp_path, method: str, dropout: bool, ckpt_every: int
) -> None:
    """With dropout too: a resumed subnet trained on another draw of the global generator than the run it
    continued (another slim network, 43.5% instead of 49.0% top-1). With ``ckpt_every`` the run resumes inside
    the epoch it was stopped in, its augmentation and dropout draws where they stood."""
    if dropout:
        tiny_resnet = _WithDropout(tiny_resnet)
    data = cifar_test_small.subset(slice(0, 96))
    s = PruneSettings(method=method, target_sparsity=0.5, epochs=3, batch_size=32, lam=20.0)
    x = PREP(data.images[:1])

    full = copy.deepcopy(tiny_resnet)
    part = partition(full, x)
    torch.manual_seed(0)
    done = train_and_prune(full, part, data, PREP, s)
    assert part.group_sparsity() > 0

    def interrupt(step: int, total: int, loss: float) -> None:
        if step == 5:  # inside epoch 2, after its 2nd step's checkpoint (with ckpt_every)
            raise _Stop

    ckpt = tmp_path / "ckpt.safetensors"
    first = copy.deepcopy(tiny_resnet)
    torch.manual_seed(0)
    with pytest.raises(_Stop):
        train_and_prune(first, partition(first, x), data, PREP, s, ckpt, interrupt, ckpt_every=ckpt_every)
    resumed, said = copy.deepcopy(tiny_resnet), []
    again = train_and_prune(
        resumed, partition(resumed, x), data, PREP, s, ckpt, lambda *step: said.append(step), log=said.append
    )
    assert again["resumed_at_epoch"] == 1
    if ckpt_every:
        assert again["resumed_at_step"] == 5
        assert said[0] == f"resuming after step 2 of 3 in epoch 2 of 3 from {ckpt}"
        assert said[1][:2] == (5, 9)  # progress starts at the resumed step, with the epoch's mean loss so far
    else:
        assert again["resumed_at_step"] == 3
        assert said[0] == f"resuming after epoch 1 of 3 from {ckpt}"  # before training (it was said after it)
        assert said[1] == (3, 9, again["history"][0]["loss"])  # progress starts at the resumed step
    for before, after in zip(done["history"], again["history"], strict=True):  # the epochs' mean losses too
        assert after["loss"] == pytest.approx(before["loss"])
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_a_checkpoint_of_another_network_or_data_is_not_resumed(tiny_resnet, cifar_test_small, tmp_path) -> None:
    """Runs that share an --out folder (say, another subnet or target into the same --out) do not load each other."""
    data = cifar_test_small.subset(slice(0, 64))
    s = PruneSettings(method="hesso", target_sparsity=0.5, epochs=2, batch_size=32)
    x, ckpt = PREP(data.images[:1]), tmp_path / "ckpt.safetensors"

    said = []

    def run(net, run_id, stop_at=None):
        def hook(step: int, total: int, loss: float) -> None:
            if step == stop_at:
                raise _Stop

        return train_and_prune(net, partition(net, x), data, PREP, s, ckpt, hook, run_id, said.append)

    with pytest.raises(_Stop):
        run(copy.deepcopy(tiny_resnet), {"subnet": "a"}, stop_at=3)  # after epoch 1's checkpoint
    assert resumes(ckpt, s, "a") and not resumes(ckpt, s, "b")  # the CLI's Ctrl-C line: the same identity
    assert not resumes(ckpt, dataclasses.replace(s, epochs=3), "a")
    assert run(copy.deepcopy(tiny_resnet), {"subnet": "b"})["resumed_at_epoch"] == 0
    assert said == [f"not resuming from {ckpt}: another run wrote it (other settings, subnet or data); starting afresh"]
    ckpt.write_bytes(b"")  # and an unreadable one starts afresh too
    assert run(copy.deepcopy(tiny_resnet), {"subnet": "b"})["resumed_at_epoch"] == 0


def test_settings_describe_only_the_methods_own_knobs() -> None:
    """`settings:` printed HESSO's periods and window to an HSPG run and HSPG's lambda to a HESSO one."""
    hspg = PruneSettings(method="hspg", target_sparsity=0.5, epochs=2).describe()
    assert hspg == (
        "method hspg, target_sparsity 0.5, epochs 2, lr 0.05, batch_size 64, momentum 0.9, weight_decay 0.0001, "
        "seed 0, prox_frac 0.5, lam 0.001, epsilon 0"
    )
    hesso = PruneSettings(method="hesso", target_sparsity=0.5, epochs=2).describe()
    assert hesso.endswith("seed 0, start_frac 0.1, prune_frac 0.5, periods 5") and "lam" not in hesso


def test_the_options_another_method_would_ignore_come_from_the_settings_own_fields() -> None:
    """The CLI refuses them by this one list (it kept its own twin of flags and defaults)."""
    assert ignored_options(PruneSettings("hesso", 0.5, 1)) == {"hspg": []}
    assert ignored_options(PruneSettings("hesso", 0.5, 1, lam=0.1, periods=3)) == {"hspg": ["--lam"]}
    assert ignored_options(PruneSettings("hspg", 0.5, 1, periods=3, start_frac=0.2)) == {
        "hesso": ["--start-frac", "--periods"]
    }


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"target_sparsity": 2.0}, "target_sparsity (--target-sparsity) 2: must be in (0, 1) (e.g. 0.5)."),
        ({"method": "oto"}, "unknown method (--method) 'oto'; choose hesso or hspg."),
        ({"batch_size": 0}, "batch_size (--batch-size) 0: must be >= 1."),
        ({"start_frac": 1.5}, "start_frac (--start-frac) 1.5: must be in [0, 1) (a fraction of all steps)."),
        ({"start_frac": -0.1}, "start_frac (--start-frac) -0.1: must be in [0, 1) (a fraction of all steps)."),
        ({"prune_frac": 0.0}, "prune_frac (--prune-frac) 0: must be in (0, 1] (a fraction of all steps)."),
        ({"prox_frac": 1.0}, "prox_frac (--prox-frac) 1: must be in [0, 1) (a fraction of all steps)."),
        (
            {"start_frac": 0.6, "prune_frac": 0.5},
            (
                "start_frac (--start-frac) 0.6 + prune_frac (--prune-frac) 0.5: must be <= 1 "
                "(the pruning window must end by the last step); lower either."
            ),
        ),
    ],
)
def test_settings_refused_name_the_field_and_its_flag(change: dict, said: str) -> None:
    """A Python caller read '--target-sparsity 2.0: ...', a flag it cannot pass, not the field it set; HESSO's and
    HSPG's schedule fractions were not checked at all (start_frac 1.5 ran with no pruning window)."""
    with pytest.raises(UserError) as caught:
        PruneSettings(**{"method": "hesso", "target_sparsity": 0.5, "epochs": 1, **change})
    assert str(caught.value).startswith(said)
