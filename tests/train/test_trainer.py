"""The trainer end to end on a small real CIFAR-10 subset: every method, the ledger, resume after SIGKILL."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from rich.console import Console
from safetensors import safe_open

from ofa_edge.cli import common
from ofa_edge.errors import UserError, for_cli
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.supernet.metadata import read_metadata
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.levers import Lever
from ofa_edge.train.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]
SPACE = SearchSpace.get("mbv3-w1.0-cifar")
TINY = {"limit_val": 8, "calib_images": 8, "probe_every": 0, "device": "cpu", "seed": 3}
BATCH = 4  # the runs' batch size: what they check does not depend on it, and a step's cost grows with it


@pytest.mark.parametrize(
    ("method", "epochs", "limit", "phases"),
    [
        ("deps", 2, 2 * BATCH, ["full", "shrink"]),
        ("bignas", 1, 2 * BATCH, ["shrink"]),
        ("ofa", 6, BATCH, ["full", "kernel", "depth-1", "depth-2", "expand-1", "expand-2"]),
        ("compofa", 4, BATCH, ["full", "kernel", "compound-1", "compound-2"]),
    ],
)
def test_each_method_trains(tmp_path, data_root, capsys, method, epochs, limit, phases) -> None:
    cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method=method, epochs=epochs, batch_size=BATCH,
        limit_train=limit, eps_epochs=1, **TINY,
    ).resolved()  # fmt: skip
    trainer = Trainer(cfg)
    result = trainer.run(show_progress=False)
    assert result["status"] == "complete"
    records = [json.loads(line) for line in Path(result["metrics"]).read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(epochs))
    assert list(dict.fromkeys(r["phase"] for r in records)) == phases
    # each epoch line says what its loss sums; β only where the method weights subnets by it
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert len(lines) == epochs and "device: cpu" not in err  # resolved by the caller, noted by the caller
    progressive = method in ("ofa", "compofa")
    assert all((" β " in line) != progressive and ("beta" in r) != progressive for line, r in zip(lines, records))
    kinds = {"full": "", "shrink": " (mean: max net CE, subnets KD)"}
    assert all(
        f"loss {r['train_loss']:.3f}{kinds.get(r['phase'], ' (CE + teacher KD)')}  lr " in line
        for line, r in zip(lines, records, strict=True)
    )
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in records)
    # the ledger: 3 x forward MACs per trained subnet-image, 1 x for teacher forwards
    cost, spe = CostModel(SPACE, 10), trainer.loader.steps_per_epoch
    plans = [trainer.method.plan(it) for it in range(epochs * spe)]
    want = sum(3 * cost.macs([j.cfg for j in p.jobs]).sum() * BATCH for p in plans)
    teacher = sum(cost.macs([SPACE.max()])[0] * BATCH for p in plans if p.jobs[0].loss == "teacher_kd")
    led = result["ledger"]
    assert led["train_flops"] == pytest.approx(want) and led["teacher_flops"] == pytest.approx(teacher)
    assert led["images"] == epochs * spe * BATCH and led["wall_seconds"] > 0
    assert (tmp_path / "run" / "teacher.safetensors").exists() == (method in ("ofa", "compofa"))
    meta = read_metadata(result["supernet"])
    assert meta["training"]["config"]["method"] == method and meta["training"]["ledger"]["steps"] == epochs * spe


def _train_cmd(out: Path, data_root: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "ofa_edge", "train", "--method", "deps", "--data", str(data_root), "--epochs", "2",
        "--batch-size", str(BATCH), "--limit-train", str(2 * BATCH), "--limit-val", "8", "--calib-images", "8", "--eps-epochs", "1",
        "--subnets-per-step", "3", "--device", "cpu", "--seed", "5", "--ckpt-every", "1", "--no-progress",
        "--out", str(out), *extra,
    ]  # fmt: skip


def _ckpt_it(path: Path) -> int:
    try:
        with safe_open(str(path), framework="pt") as f:
            return json.loads(f.metadata()["ofa_edge_train"])["state"]["it"]
    except Exception:  # noqa: BLE001 - not written yet
        return -1


def _final(run: Path) -> tuple[dict, list[dict]]:
    net = load_supernet(run / "supernet.safetensors")
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return net.state_dict(), metrics


@pytest.fixture()
def one_thread():
    """Match the subprocess (OMP_NUM_THREADS=1) so in-process runs compute the same floats."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, data_root, cli, one_thread) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    assert cli(*_train_cmd(ref, data_root)[3:])[0] == 0

    proc = subprocess.Popen(
        _train_cmd(killed, data_root), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while _ckpt_it(killed / "checkpoint.safetensors") < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at = _ckpt_it(killed / "checkpoint.safetensors")
    assert proc.returncode == -signal.SIGKILL and 1 <= at < 4, "the run must die mid-training"
    assert not (killed / "supernet.safetensors").exists()

    # --cudnn-benchmark is a speed knob: a run may be resumed with it toggled
    code, stdout, stderr = cli(*_train_cmd(killed, data_root, "--resume", "--json", "--cudnn-benchmark")[3:])
    assert code == 0, stderr
    assert json.loads(stdout)["resumed_at_iteration"] == at
    assert not list(killed.glob(".*.tmp"))

    # bit for bit, as --seed promises at one thread count: only the throughput may differ
    (w_ref, m_ref), (w_got, m_got) = _final(ref), _final(killed)
    assert w_got.keys() == w_ref.keys() and all(torch.equal(w_got[k], w_ref[k]) for k in w_ref)
    assert [r["epoch"] for r in m_got] == [0, 1]
    assert [r | {"images_per_s": 0} for r in m_got] == [r | {"images_per_s": 0} for r in m_ref]


def test_options_paths_run(tmp_path, data_root) -> None:
    """bf16 autocast, channels_last, avg aggregation, re-ordering and kernel transforms all train (on a batch
    of 2: bf16 convolutions are slow on CPUs without bf16 instructions, 18 s for one batch of 8)."""
    cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1, batch_size=2, limit_train=2,
        subnets_per_step=2, amp=True, channels_last=True, grad_agg="avg", reorder=True, kernel_transform=True, **TINY,
    ).resolved()  # fmt: skip
    trainer = Trainer(cfg)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    result = trainer.run(show_progress=False)
    assert result["status"] == "complete" and trainer.state["reordered"]
    after = trainer.net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if "kernel_matrices" in k)


class CountingLever(Lever):
    """A lever that holds out half the data and counts hook calls in checkpointed state."""

    name = "counter"

    def __init__(self) -> None:
        self.calls = torch.zeros(4, dtype=torch.int64)  # epoch starts, batches, backwards, steps
        self.seen_samples: set[int] = set()

    def epoch_size(self, num_samples: int) -> int:
        return num_samples // 2

    def epoch_order(self, epoch: int, order: torch.Tensor) -> torch.Tensor:
        return order[order % 2 == 0]  # only even samples train

    def on_epoch_start(self, epoch, net) -> None:
        self.calls[0] += 1

    def on_batch(self, indices, logits, labels) -> None:
        self.calls[1] += 1
        self.seen_samples.update(indices.tolist())

    def after_backward(self, net, it) -> None:
        assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())
        self.calls[2] += 1

    def after_step(self, net, it) -> None:
        self.calls[3] += 1

    def state(self):
        return {"calls": self.calls}, {"seen": sorted(self.seen_samples)}

    def load_state(self, tensors, meta) -> None:
        self.calls = tensors["calls"].clone()
        self.seen_samples = set(meta["seen"])


def test_lever_hooks_and_state_survive_resume(tmp_path, data_root) -> None:
    cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=2, batch_size=2, limit_train=8,
        subnets_per_step=2, time_limit_s=1e-6, **TINY,
    ).resolved()  # fmt: skip
    first = Trainer(cfg, levers=[CountingLever()])
    assert first.loader.steps_per_epoch == 2  # 4 of 8 samples per epoch, batch 2
    assert first.run(show_progress=False)["status"].startswith("stopped")
    lever = CountingLever()
    result = Trainer(dataclasses.replace(cfg, time_limit_s=None), levers=[lever]).run(resume=True, show_progress=False)
    assert result["status"] == "complete" and result["resumed_at_iteration"] == 1
    assert lever.calls.tolist() == [3, 4, 4, 4]  # epoch starts: epoch 0 (twice: run and resume), epoch 1
    assert all(i % 2 == 0 for i in lever.seen_samples)
    again = Trainer(dataclasses.replace(cfg, time_limit_s=None), levers=[CountingLever()])
    console = again.console = Console(record=True, width=200)
    assert again.run(resume=True)["status"] == "complete"  # a finished run: no steps, no bar, one note
    said = " ".join(console.export_text().split())
    assert said.count("nothing to train") == 1 and "img/s" not in said  # it was said twice in two ways
    assert f"run already complete: '{cfg.out}' finished all 2 epochs; nothing to train" in said


def test_open_and_step_drive_the_same_training_as_run(tmp_path, data_root) -> None:
    """The public single-step API (what benchmarks use) trains exactly what :meth:`Trainer.run` trains."""
    cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method="deps", epochs=2, batch_size=BATCH,
        limit_train=2 * BATCH, eps_epochs=1, subnets_per_step=2, **TINY,
    ).resolved()  # fmt: skip
    by_hand = Trainer(dataclasses.replace(cfg, out=str(tmp_path / "by-hand")))
    assert by_hand.open() == 0
    plans = [by_hand.step(it)[0] for it in range(by_hand.method.p.total_iters)]
    assert [p.phase for p in plans] == ["full", "full", "shrink", "shrink"] and len(plans[-1].jobs) == 2
    ran = Trainer(cfg)
    ran.run(show_progress=False)
    for (name, a), b in zip(by_hand.net.state_dict().items(), ran.net.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_memory_format_of_every_batch_is_the_one_asked_for(tmp_path, data_root, channels_last) -> None:
    """The augmenting gather yields NHWC-strided batches; the trainer must not let that decide."""
    cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method="deps", epochs=2, batch_size=BATCH,
        limit_train=2 * BATCH, eps_epochs=1, subnets_per_step=2, channels_last=channels_last, **TINY,
    ).resolved()  # fmt: skip
    trainer = Trainer(cfg)
    seen: list[torch.Tensor] = []
    trainer.net.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    trainer.open()
    trainer.step(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    assert seen and all(x.is_contiguous(memory_format=fmt) for x in seen)
    weight = trainer.net.blocks[0].expand.weight
    assert weight.is_contiguous(memory_format=fmt)


def test_memory_format_defaults_to_channels_last_on_the_cpu_and_nchw_on_cuda(tmp_path, monkeypatch) -> None:
    base = TrainConfig(data="d", out=str(tmp_path))
    cpu, notes = dataclasses.replace(base, device="cpu").resolved()
    assert cpu.channels_last is True and any("channels_last (auto on the CPU" in n for n in notes)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # resolving checks only that CUDA is there
    cuda, notes = dataclasses.replace(base, device="cuda").resolved()
    assert cuda.channels_last is False and any("NCHW (auto on CUDA" in n for n in notes)
    assert dataclasses.replace(base, device="cuda", channels_last=True).resolved()[0].channels_last is True


def test_a_second_trainer_on_the_same_run_is_refused_until_the_first_closes(tmp_path, data_root) -> None:
    tiny_cfg, _ = TrainConfig(
        data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1, batch_size=8, limit_train=8, **TINY
    ).resolved()
    first = Trainer(tiny_cfg)
    first.open()
    with pytest.raises(UserError, match=rf"another ofa-edge train \(process {os.getpid()}\) is writing"):
        Trainer(tiny_cfg).open(resume=True)
    first.close()
    second = Trainer(tiny_cfg)
    assert second.open(resume=True) == 0  # released: the directory is usable again
    second.close()


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize(
    ("name", "content", "held"),
    [
        ("supernet.safetensors", "trained weights", "a trained supernet.safetensors but no checkpoint to resume"),
        ("config.json", '{"model_type": "bert"}', "a config.json that is not an ofa-edge training run's"),
        ("config.json", "[1, 2]", "a config.json that is not an ofa-edge training run's"),
    ],
)
def test_a_new_run_replaces_no_file_of_another_kind(tmp_path, data_root, resume, name, content, held) -> None:
    """A finished run whose checkpoint was deleted (to save space) started a new run when its command ran
    again: its metrics were emptied at once, its ledger and supernet replaced by the new run's. Another
    tool's config.json was replaced by the run's."""
    run = tmp_path / "run"
    run.mkdir()
    (run / name).write_text(content)
    (run / "metrics.jsonl").write_text('{"epoch": 0}\n')
    cfg = TrainConfig(data=str(data_root), out=str(run), epochs=1, batch_size=BATCH, limit_train=BATCH, **TINY)
    with pytest.raises(UserError, match=f"'{run}' holds {held}: a new run there would replace it"):
        Trainer(cfg).open(resume)
    assert (run / name).read_text() == content and (run / "metrics.jsonl").read_text() == '{"epoch": 0}\n'


def test_an_unresolved_config_trains_and_its_defaults_are_noted(tmp_path, data_root) -> None:
    """``Trainer(TrainConfig(...))`` as the docs write it: it raised torch's "Expected one of cpu, cuda ...
    device string: auto", and a Path as ``data`` could not be written to config.json."""
    cfg = TrainConfig(data=data_root, out=tmp_path / "run", method="bignas", epochs=1, batch_size=8, limit_train=8,
                      subnets_per_step=2, **{**TINY, "device": "auto"})  # fmt: skip
    console = Console(record=True, width=200)
    trainer = Trainer(cfg, console=console)
    assert trainer.cfg.device in ("cpu", "cuda") and trainer.cfg.lr == 0.1 * 8 / 256
    said = console.export_text()
    assert "device: " in said and "(auto)" in said and "lr: 0.003125 (0.1 x global batch 8 / 256)" in said
    assert trainer.run(show_progress=False)["status"] == "complete"
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert saved["data"] == str(data_root) and saved["device"] == trainer.cfg.device


def test_the_live_bar_moves_every_cpu_step_and_names_the_running_probe(tmp_path, data_root) -> None:
    """On the CPU the bar showed placeholders until step 25 (a loss read is a GPU sync, not a CPU one),
    and nothing while the probes ran."""
    cfg = TrainConfig(data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1,
                      batch_size=BATCH, limit_train=3 * BATCH, subnets_per_step=2, **{**TINY, "probe_every": 1})  # fmt: skip
    screen = io.StringIO()
    Trainer(cfg, console=Console(file=screen, force_terminal=True, width=250)).run()
    frames = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", f) for f in screen.getvalue().split("\r")]
    assert any(" 0/3 " in f and "shrink ep 1/1  first step running" in f for f in frames)
    for done in (1, 2, 3):
        assert any(f" {done}/3 " in f and "loss " in f and " img/s" in f for f in frames), done
    probes = [p for p in ("min", "mid", "max", "rand0", "rand1") if any(f"probe {p} (" in f for f in frames)]
    assert probes == ["min", "mid", "max", "rand0", "rand1"]
    assert any("probe min (1/5): BN recalibration on 8 images, top-1 on 8" in f for f in frames)


def test_training_images_of_one_class_are_refused(tmp_path, data_root) -> None:
    cfg = TrainConfig(data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1, batch_size=1,
                      limit_train=1, **TINY)  # fmt: skip
    with pytest.raises(UserError, match=r"all of one class \('\w+'\): a classifier needs at least 2 classes; raise "
                       r"--limit-train \(it takes 1 image\(s\)\) to 2 or more"):  # fmt: skip
        Trainer(cfg)


@pytest.mark.parametrize(
    ("warmup_frac", "epochs", "need"),
    [(0.5, 1, 2), (0.1, 4, 6), (0.2, 2, 3)],  # round() halves to even: round(0.5) = 0, round(0.5 x 5) = 2
)
def test_a_warmup_that_rounds_to_no_epoch_is_noted_with_the_epochs_it_needs(warmup_frac, epochs, need) -> None:
    cfg = TrainConfig(data="d", out="o", method="deps", epochs=epochs, warmup_frac=warmup_frac, device="cpu")
    _, notes = cfg.resolved()
    want = (
        f"warmup_frac (--warmup-frac) {warmup_frac:g} of {epochs} epoch(s) rounds to no full-model warm-up: DεpS "
        f"shrinks from the first step (epochs (--epochs) {need} or more gives it a warm-up epoch)"
    )
    assert want in notes
    assert for_cli(want) == (  # the command line's wording, as it was
        f"--warmup-frac {warmup_frac:g} of {epochs} epoch(s) rounds to no full-model warm-up: DεpS shrinks from "
        f"the first step (--epochs {need} or more gives it a warm-up epoch)"
    )
    assert not any("rounds to no" in n for n in dataclasses.replace(cfg, epochs=need).resolved()[1])
    assert not any("rounds to no" in n for n in dataclasses.replace(cfg, warmup_frac=0.0).resolved()[1])


@pytest.mark.parametrize(
    ("limit_train", "bn_images", "said"),
    [
        # above the 200 images of the few-images warning it said nothing, and used all 250
        (250, 300, "• --bn-images 300 is more than the 250 training images: all 250 are used"),
        (250, 250, None),
        # below them the warning says it (once: no note beside it)
        (20, 300, "warning: --bn-images 300: the data holds only 20 training images, and BN recalibration uses"),
    ],
)
def test_bn_images_above_the_training_images_are_said(tmp_path, data_root, limit_train, bn_images, said) -> None:
    cfg = TrainConfig(data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1, batch_size=8,
                      limit_train=limit_train, subnets_per_step=2, **{**TINY, "calib_images": bn_images,
                      "probe_every": 1})  # fmt: skip
    console = Console(record=True, width=300)
    Trainer(cfg, console=console)
    lines = [line for line in console.export_text().splitlines() if "--bn-images" in line]
    assert [line[: len(said or "")] for line in lines] == ([said] if said else []), lines
    quiet = Console(record=True, width=300)
    Trainer(dataclasses.replace(cfg, probe_every=0), console=quiet)  # no probes: the images are not used
    assert "--bn-images" not in quiet.export_text()


def test_the_bn_images_warning_looks_as_the_command_lines_warnings(tmp_path, data_root, monkeypatch) -> None:
    """The trainer drew its own 'warning:' markup, numbers unhighlighted unlike every other warning of the CLI."""
    cfg = TrainConfig(data=str(data_root), out=str(tmp_path / "run"), method="bignas", epochs=1, batch_size=8,
                      limit_train=20, subnets_per_step=2, **{**TINY, "calib_images": 300, "probe_every": 1})  # fmt: skip

    def screen() -> Console:
        return Console(record=True, width=300, force_terminal=True, color_system="standard")

    trainer_screen, cli_screen = screen(), screen()
    Trainer(cfg, console=trainer_screen)
    said = [line for line in trainer_screen.export_text(styles=True, clear=False).splitlines() if "--bn-images" in line]
    monkeypatch.setattr(common, "err", cli_screen)
    common.warn(trainer_screen.export_text().split("warning: ", 1)[1].splitlines()[0])
    assert said == cli_screen.export_text(styles=True).splitlines()
