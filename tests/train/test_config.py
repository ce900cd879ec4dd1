"""TrainConfig: defaults resolved with a note each, options validated, what a resume may change."""

import dataclasses
import math

import pytest

from ofa_edge.errors import UserError, for_cli
from ofa_edge.train.config import RESUME_FREE, TrainConfig

BASE = TrainConfig(data="d", out="o", device="cpu")


def test_defaults_resolve_with_a_note_each() -> None:
    cfg, notes = dataclasses.replace(BASE, epochs=40, batch_size=128).resolved(world=2)
    assert cfg.lr == pytest.approx(0.1 * 256 / 256)  # scaled by the global batch
    assert (cfg.lr_warmup_epochs, cfg.eps_epochs, cfg.channels_last) == (2.0, 2.0, True)
    said = " | ".join(notes)
    assert "lr: 0.1 (0.1 x global batch 256 / 256)" in said and "eps-epochs: 2" in said
    assert "memory format: channels_last" in said


@pytest.mark.parametrize(("batch", "lr"), [(100, "0.0390625"), (3, "0.001171875"), (8, "0.003125")])
def test_the_default_lr_is_exact_and_shown_so(batch, lr) -> None:
    """It was rounded to 6 decimals, in the run and in its note: batch 100 trained at 0.039062, not 0.0390625."""
    cfg, notes = dataclasses.replace(BASE, batch_size=batch).resolved()
    assert cfg.lr == float(lr) and math.isclose(cfg.lr, 0.1 * batch / 256, rel_tol=1e-15)
    assert f"lr: {lr} (0.1 x global batch {batch} / 256)" in notes


def test_given_values_are_kept_and_not_noted() -> None:
    given = dataclasses.replace(BASE, lr=0.05, lr_warmup_epochs=0.5, eps_epochs=3.0, channels_last=False)
    cfg, notes = given.resolved()
    assert (cfg.lr, cfg.lr_warmup_epochs, cfg.eps_epochs, cfg.channels_last) == (0.05, 0.5, 3.0, False)
    assert not any(n.startswith(("lr", "eps", "memory")) for n in notes)


def test_options_of_other_methods_are_noted_as_ignored() -> None:
    _, notes = dataclasses.replace(BASE, method="ofa", epochs=6, warmup_frac=0.3, beta_mult=2.0).resolved()
    said = " | ".join(notes)
    assert "warmup_frac (--warmup-frac) 0.3: DεpS only; ignored by method (--method) ofa" in said
    assert "beta_mult (--beta-mult) 2 ignored" in said
    assert "--warmup-frac 0.3: DεpS only; ignored by --method ofa" in for_cli(said)  # as the command line says it


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"epochs": 0}, "epochs (--epochs) 0: must be >= 1."),
        ({"warmup_frac": 1.0}, "warmup_frac (--warmup-frac) 1"),
        ({"lr": math.nan}, "lr (--lr) nan"),
        ({"method": "spos"}, "unknown method (--method) 'spos'"),
        ({"grad_agg": "mean"}, "grad_agg (--grad-agg) must be 'sum' or 'avg'"),
        ({"subnets_per_step": 1}, "subnets_per_step (--subnets-per-step) 1"),
        ({"method": "ofa", "epochs": 5}, "needs at least 6 epochs; got epochs (--epochs) 5"),
        ({"lr_warmup_epochs": 40.0}, "lr_warmup_epochs (--lr-warmup-epochs) 40"),
        ({"calib_images": 0}, "calib_images (--bn-images) 0: must be >= 1."),
        ({"time_limit_s": -1.0}, "time_limit_s (--time-limit) -1"),
        (
            {"method": "ofa", "epochs": 12, "lr_warmup_epochs": 5.0},
            "longer than method (--method) ofa's full-model phase",
        ),
    ],
)
def test_impossible_settings_are_refused_when_made_naming_the_field_and_its_flag(change: dict, needle: str) -> None:
    """They passed construction and were refused only when ``Trainer(...).run()`` resolved them, and named only the
    flag (``--epochs 0``), which a Python caller cannot pass."""
    with pytest.raises(UserError) as e:
        TrainConfig(**{"data": "d", "out": "o", "device": "cpu", **change})
    assert needle in str(e.value)


def test_a_cuda_graphs_run_on_the_cpu_is_refused_when_resolved() -> None:
    """The device is known only once ``auto`` is resolved."""
    with pytest.raises(UserError, match=r"^cuda_graphs \(--cuda-graphs\) needs a CUDA device"):
        dataclasses.replace(BASE, cuda_graphs=True).resolved()


def test_a_resume_may_change_only_what_does_not_change_the_result() -> None:
    saved = BASE.resolved()[0].to_dict()
    moved = dataclasses.replace(BASE, data="elsewhere", out="o2", time_limit_s=60.0, probe_every=0).resolved()[0]
    assert moved.resume_mismatch(saved) == []
    other = dataclasses.replace(BASE, seed=1, batch_size=64).resolved()[0]
    assert sorted(m.split(":")[0] for m in other.resume_mismatch(saved)) == ["batch_size", "lr", "seed"]
    assert {"data", "out", "device", "time_limit_s"} <= RESUME_FREE


def test_a_run_saved_with_the_default_lr_rounded_resumes() -> None:
    """Runs saved before the default LR was exact recorded 0.039062 for batch 100 (0.0390625): their --resume
    was refused on that sixth decimal; a real change of LR still is."""
    cfg = dataclasses.replace(BASE, batch_size=100).resolved()[0]
    assert cfg.lr == 0.0390625
    assert cfg.resume_mismatch(cfg.to_dict() | {"lr": 0.039062}) == []
    assert [m.split(":")[0] for m in cfg.resume_mismatch(cfg.to_dict() | {"lr": 0.039})] == ["lr"]


def test_a_cli_run_validates_its_config_once_and_still_checks_the_defaults_filled_in(monkeypatch) -> None:
    """`ofa-edge train` made the config (validated), resolved it (validated again) and the trainer resolved it once
    more (a third time). The values resolving fills in are still checked: a Python caller's world 0 makes lr 0."""
    calls = []
    validate = TrainConfig.validate
    monkeypatch.setattr(TrainConfig, "validate", lambda self: calls.append(self) or validate(self))
    made = TrainConfig(data="d", out="o", device="cpu")  # as the command makes it, then resolves it
    cfg, notes = made.resolved()
    assert notes and cfg != made and len(calls) == 1
    again, more = cfg.resolved()  # the trainer's: nothing is left open
    assert again is cfg and more == [] and len(calls) == 1
    with pytest.raises(UserError, match=r"^lr \(--lr\) 0: must be > 0"):
        made.resolved(world=0)
