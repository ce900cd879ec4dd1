"""The training loop shared by every method.

Per step: the method's plan names the subnets (sandwich or progressive), the trainer runs
each on the same augmented batch (resized to the subnet's resolution), backpropagates its
weighted loss into the shared weights, aggregates (sum or avg), all-reduces under DDP and
steps SGD. Every epoch (and every ``ckpt_every`` steps) the whole state is checkpointed
atomically, with the epoch's global sample order; randomness is derived from (seed, iteration),
so a resumed run, on each of its processes, replays the uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from rich.console import Console

from ofa_edge.data.classes import require_same_classes
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.subset import unfilled_limit
from ofa_edge.data.transforms import resize
from ofa_edge.errors import UserError, option_name
from ofa_edge.host import cpu_model, now_utc
from ofa_edge.io import HeldLock, atomic_write_json, hold_lock, require_free_space
from ofa_edge.say import Log, say_note, say_warning
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import few_images_warning
from ofa_edge.supernet.checkpoint import load_supernet, save_supernet
from ofa_edge.train.aggregate import GradAverager
from ofa_edge.train.checkpointing import (
    check_state,
    checkpoint_bytes,
    load_checkpoint,
    save_checkpoint,
    state_bytes,
    unreadable_checkpoint,
)
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.cuda_graphs import GraphedSupernet
from ofa_edge.train.data import DeviceLoader, check_training_data, data_note
from ofa_edge.train.distill import ce_loss, kd_loss, soft_targets
from ofa_edge.train.distributed import (
    allreduce_grads,
    any_rank,
    check_replicas,
    dist_context,
    launched_world,
    rank0_decides,
)
from ofa_edge.train.ledger import Ledger
from ofa_edge.train.levers import Lever
from ofa_edge.train.methods import Method, MethodParams, StepPlan, make_method
from ofa_edge.train.optim import make_optimizer
from ofa_edge.train.probes import evaluate_probes, probe_configs
from ofa_edge.train.progress import TrainProgress
from ofa_edge.train.reorder import reorder_channels
from ofa_edge.train.rundir import RunDir, data_mismatch, data_record

SYNC_EVERY = 25  # steps between reads of the loss from a GPU or under DDP (one CPU process: every step)


class Trainer:
    """One run: build everything from a resolved :class:`TrainConfig`, then :meth:`run` it, or drive it
    step by step with :meth:`open` and :meth:`step`."""

    def __init__(
        self,
        cfg: TrainConfig,
        levers: Sequence[Lever] = (),
        console: Console | None = None,
        options: dict[str, Any] | None = None,
        note: Log | None = None,
        warn: Log | None = None,
    ) -> None:
        """``cfg`` may leave defaults open (``None``, ``device="auto"``): they are resolved here, and the notes
        on what was picked printed. ``options``: the command-line options that made the run, kept in
        ``config.json`` for ``--resume``. ``note`` and ``warn`` receive its notes and warnings (default: drawn on
        ``console``); the CLI passes its own, which name an option by its flag alone."""
        self.cfg, notes = cfg.resolved(launched_world()[1])
        given, cfg = cfg, self.cfg
        self.levers, self.options = list(levers), options
        for lv in self.levers:
            if lv.epochs not in (None, cfg.epochs):
                raise UserError(
                    f"lever '{lv.name}' was planned for {lv.epochs} epochs, but the run trains {cfg.epochs}; make it "
                    f"with epochs={cfg.epochs} (its freezing and mask schedules follow the run's length)."
                )
            if lv.seed not in (None, cfg.seed):
                raise UserError(
                    f"lever '{lv.name}' was seeded with {lv.seed}, but the run's seed is {cfg.seed}; make it with "
                    f"seed={cfg.seed}, as `ofa-edge train --seed {cfg.seed}` does (the same seed, the same run)."
                )
        self.console = console or Console(stderr=True)
        self._note: Log = note or (lambda text: say_note(self.console, text))
        self._warn: Log = warn or (lambda text: say_warning(self.console, text))
        self.ctx = dist_context(cfg.device)
        if cfg != given and self.ctx.main:  # a config resolved by the caller was the caller's to note
            for text in notes:
                self._note(text)
        if self.ctx.device.type == "cuda":
            torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
        self.space = SearchSpace.get(cfg.space)
        size = max(self.space.resolutions)
        self.data = load_dataset(cfg.data, "train", limit=cfg.limit_train, seed=cfg.seed, size=size)
        self.val = load_dataset(cfg.data, cfg.val_split, limit=cfg.limit_val, seed=cfg.seed, size=size)
        require_same_classes(self.data, self.val, cfg.data)
        unfilled = check_training_data(self.data, cfg.data, cfg.limit_train)
        unfilled_val = unfilled_limit("--limit-val", cfg.limit_val, len(self.val), self.val.split)
        said = data_note(self.data, self.val, cfg.data, cfg.space, size)
        for text in (said, unfilled, unfilled_val) if self.ctx.main else ():
            if text:
                self._note(text)
        g = torch.Generator().manual_seed(cfg.seed)
        self.calib = self.data.subset(torch.randperm(len(self.data), generator=g)[: cfg.calib_images])
        if self.ctx.main and cfg.probe_every:
            self._say_bn_images()
        self.epoch_samples = min((lv.epoch_size(len(self.data)) for lv in self.levers), default=len(self.data))
        held_out = "; ".join(filter(None, (lv.held_out(len(self.data)) for lv in self.levers)))
        self.memory_format = memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.loader = DeviceLoader(
            self.data, cfg.batch_size, self.ctx.device, self.space.mean, self.space.std, cfg.seed,
            self.ctx.rank, self.ctx.world, self.epoch_samples, memory_format, held_out,
        )  # fmt: skip
        torch.manual_seed(cfg.seed)
        self.net = Supernet(self.space, len(self.data.classes), kernel_transform=cfg.kernel_transform).to(
            self.ctx.device, memory_format=memory_format
        )
        self.optimizer = make_optimizer(self.net, cfg)
        self.graphs = GraphedSupernet(self.net) if cfg.cuda_graphs else None
        self.method: Method = make_method(
            cfg.method,
            self.space,
            MethodParams(
                cfg.epochs, self.loader.steps_per_epoch, cfg.lr, cfg.lr_warmup_epochs or 0.0, cfg.warmup_frac,
                cfg.eps_epochs or 0.0, cfg.subnets_per_step, cfg.beta_mult, cfg.seed,
            ),
        )  # fmt: skip
        self.cost = CostModel(self.space, len(self.data.classes))
        self.run_dir = RunDir(Path(cfg.out))
        self._lock: HeldLock | None = None  # while open, on the main process
        self.averager = GradAverager() if cfg.grad_agg == "avg" else None
        self.teacher: Supernet | None = None
        self.ledger = Ledger(self._device_name())
        self.state: dict[str, Any] = {
            "it": 0,
            "reordered": False,
            "teacher": False,
            "epoch_loss": 0.0,
            "epoch_steps": 0,
        }
        self.order: torch.Tensor | None = None  # the epoch's global sample order (after the levers)
        self.shard: torch.Tensor | None = None  # this process's part of it
        self._pending_loss: torch.Tensor | None = None  # step losses not yet read back from the device
        self._pending_from, self._shown_loss = 0, 0.0
        self._start_it, self._resumed_mid_epoch = 0, False  # set by open()
        self._saved_it = 0  # the iteration of the newest checkpoint
        # a loss read waits for a GPU, and under DDP it is a collective (the ranks agree on divergence and on
        # the time limit there); one CPU process reads for free: every step
        self._sync_every = 1 if self.ctx.device.type == "cpu" and self.ctx.world == 1 else SYNC_EVERY

    # ------------------------------------------------------------------ setup
    def _device_name(self) -> str:
        d = self.ctx.device
        name = torch.cuda.get_device_name(d) if d.type == "cuda" else cpu_model()
        return f"{self.ctx.world}x {name}" if self.ctx.world > 1 else name

    def _open_run(self, resume: bool) -> int:
        """Create the run dir or resume from its checkpoint; returns the iteration to start at."""
        rd = self.run_dir
        if self.ctx.main and rd.root.is_dir():
            rd.remove_stale_temps()
        if rd.checkpoint.exists():
            if not resume:
                raise UserError(
                    f"'{rd.root}' already holds a training run; pass {option_name('resume')} to continue it or choose "
                    f"another {option_name('out')}."
                )
            self._require_room(checkpoints=1)  # the new one is written beside the old, then replaces it
            return self._resume()
        if held := rd.replaced_by_new_run():
            raise UserError(
                f"'{rd.root}' holds {held}: a new run there would replace it (and metrics.jsonl, ledger.json). "
                f"Choose another {option_name('out')}, or move it away to train anew in that folder."
            )
        if resume and self.ctx.main:
            self._note(f"nothing to resume in '{rd.root}' (no checkpoint); starting a new run")
        self._require_room(checkpoints=2)  # the first, then each next one beside the last until it replaces it
        if self.ctx.main:
            rd.root.mkdir(parents=True, exist_ok=True)
            options = {"options": self.options} if self.options is not None else {}
            rd.write_config({"train": self.cfg.to_dict(), **self._data_record(), **options})
            rd.keep_metrics(before_epoch=0)
        if self.ctx.world > 1:
            for t in self.net.state_dict().values():
                dist.broadcast(t, 0)
        return 0

    def _require_room(self, checkpoints: int) -> None:
        """Refuse, before any training, a run folder whose disk cannot hold ``checkpoints`` checkpoints and the
        finished supernet (an epoch was trained before the first checkpoint met a full disk)."""
        if self.ctx.main:
            need = checkpoints * checkpoint_bytes(self.net, len(self.data)) + state_bytes(self.net)
            fix = f"pass {option_name('out')} on another disk"
            require_free_space(self.run_dir.root, need, f"training ({checkpoints} checkpoint(s) and the supernet)", fix)

    def _resume(self) -> int:
        """Load the run's checkpoint (weights, optimizer, levers, state, ledger, sample order, teacher)
        after checking this run's settings and data are the saved ones; returns its iteration."""
        rd, cfg = self.run_dir, self.cfg
        saved = rd.require_config()
        diff = cfg.resume_mismatch(saved.get("train", {})) + data_mismatch(saved, self._data_record())
        if diff:
            raise UserError(
                f"{option_name('resume')} with settings that differ from the run in '{rd.root}': {'; '.join(diff)}. "
                f"Resume with the original settings or start a new run with another {option_name('out')}."
            )
        state, order = load_checkpoint(rd.checkpoint, self.net, self.optimizer, self.levers)
        check_state(rd.checkpoint, state, order, self.method.p.total_iters, self.epoch_samples, len(self.data))
        self.state.update(state)
        try:
            self.ledger = Ledger.from_dict(state["ledger"], self._device_name())
        except (KeyError, TypeError, AttributeError) as e:
            raise unreadable_checkpoint(rd.checkpoint, f"ledger: {type(e).__name__} {e}") from None
        self._use_order(order)
        if self.state["teacher"]:
            self.teacher = self._frozen(load_supernet(rd.teacher, device=str(self.ctx.device)))
        it, per_epoch, total = int(self.state["it"]), self.loader.steps_per_epoch, self.method.p.total_iters
        if self.ctx.main:
            cut = rd.keep_metrics(before_epoch=it // per_epoch)
            if cut:
                self._note(
                    f"{cut} line(s) of '{rd.metrics}' were cut short (a kill mid-write) and are dropped; "
                    "those epochs have no metrics record"
                )
            if it >= total:  # its files stay as the run left them
                self._note(f"run already complete: '{rd.root}' finished all {cfg.epochs} epochs; nothing to train")
            else:
                self._note(
                    f"resuming '{rd.root}' at iteration {it:,} of {total:,} (epoch {it // per_epoch}, "
                    f"step {it % per_epoch} of {per_epoch})"
                )
                if self.options is not None:  # the next --resume starts from these (e.g. a moved --data)
                    rd.write_config({**saved, "options": self.options})
        return it

    def _data_record(self) -> dict[str, Any]:
        """What ``config.json`` records of the run's data and processes (a resume must match it)."""
        return data_record(len(self.data), self.data.classes, self.ctx.world)

    def _say_bn_images(self) -> None:
        """Warn of BN recalibration on few images; else note a ``--bn-images`` above the training images."""
        cfg = self.cfg
        if warning := few_images_warning(cfg.calib_images, available=len(self.data)):
            self._warn(warning)
        elif unfilled := unfilled_limit("--bn-images", cfg.calib_images, len(self.data), "training"):
            self._note(unfilled)

    def _use_order(self, order: torch.Tensor) -> None:
        """Train the epoch in ``order`` (global, saved with checkpoints); this process takes its shard."""
        self.order, self.shard = order, self.loader.shard(order)

    def _frozen(self, net: Supernet) -> Supernet:
        """``net`` as the frozen teacher: max subnet, eval mode, no gradients, the run's memory format
        (a teacher loaded on resume comes back contiguous)."""
        net = net.to(memory_format=self.memory_format)
        net.set_max()
        net.eval().requires_grad_(False)
        return net

    def _fold_loss(self, it: int) -> float:
        """Add the losses summed on the device since the last fold to the epoch's total (one sync).

        Returns the mean loss of the folded steps, for the progress bar."""
        if self._pending_loss is None:
            return self._shown_loss
        steps = it - self._pending_from
        total = float(self._pending_loss)
        self._stop_if_diverged(
            it,
            f"the mean loss of iteration{f's {self._pending_from + 1}-' if steps > 1 else ' '}{it} is {total / max(1, steps)}",
            not math.isfinite(total),
        )
        self.state["epoch_loss"] += total
        self._pending_loss, self._pending_from = None, it
        self._shown_loss = total / max(1, steps)
        return self._shown_loss

    def _stop_if_diverged(self, it: int, symptom: str, diverged: bool) -> None:
        """Raise a :class:`UserError` (on every rank alike) if ``diverged``, before anything is written:
        the last checkpoint stays the last good state."""
        if self.ctx.world > 1:
            diverged = any_rank(diverged, self.ctx.device)
        if not diverged:
            return
        kept = (
            f"the checkpoint of iteration {self._saved_it} is kept" if self._saved_it else "no checkpoint was written"
        )
        raise UserError(
            f"training diverged by iteration {it} (epoch {(it - 1) // self.loader.steps_per_epoch + 1}): {symptom}; "
            f"{kept}. Lower {option_name('lr')} ({self.cfg.lr:g}) and start a new run."
        )

    def _collect_saved_flops(self) -> None:
        """The ledger's ``saved_flops``: what the levers saved so far."""
        self.ledger.saved_flops = {k: v for lv in self.levers for k, v in lv.flops_saved().items()}

    def _save(self, it: int) -> None:
        self._fold_loss(it)
        now = time.perf_counter()
        self.ledger.wall_seconds += now - self._mark
        self._mark = now
        self._collect_saved_flops()
        tensors = [t for t in self.net.state_dict().values() if t.is_floating_point()]
        finite = bool(torch.stack([t.isfinite().all() for t in tensors]).all())
        self._stop_if_diverged(it, "the weights hold NaN or inf", not finite)
        if self.ctx.world > 1:
            check_replicas(self.net)  # rank 0 writes for all: its weights must be everyone's
        if self.ctx.main:
            state = self.state | {"it": it, "ledger": self.ledger.to_dict()}
            save_checkpoint(self.run_dir.checkpoint, self.net, self.optimizer, state, self.order, self.levers)
            atomic_write_json(self.run_dir.ledger, self.ledger.to_dict())
        self._saved_it = it
        if self.ctx.world > 1:
            dist.barrier()

    # ------------------------------------------------------------------- step
    def _autocast(self):
        d = self.ctx.device.type
        return torch.autocast(d, dtype=torch.bfloat16) if self.cfg.amp else nullcontext()

    def _step(self, it: int, epoch: int, step: int) -> tuple[StepPlan, torch.Tensor]:
        cfg, net = self.cfg, self.net
        x, y, idx = self.loader.batch(epoch, step, self.shard)
        plan = self.method.plan(it)
        for group in self.optimizer.param_groups:
            group["lr"] = plan.lr
        self.optimizer.zero_grad(set_to_none=True)
        if self.graphs is not None:
            self.graphs.zero_grad()
        forward = self.graphs or net
        torch.manual_seed((cfg.seed * 1_000_003 + it) % 2**63)  # dropout: a function of the iteration
        if self.averager is not None:
            self.averager.reset()
        teacher_soft = inplace_soft = None
        if any(j.loss == "teacher_kd" for j in plan.jobs):
            with torch.no_grad(), self._autocast():
                teacher_soft = soft_targets(self.teacher(resize(x, max(self.space.resolutions))), cfg.kd_temp)
        total = torch.zeros((), device=x.device)
        for job in plan.jobs:
            net.set_active(job.cfg)
            with self._autocast():
                out = forward(resize(x, job.cfg.resolution))
            if job.loss == "ce":
                loss = ce_loss(out, y, cfg.label_smoothing)
            elif job.loss == "inplace_kd":
                loss = kd_loss(out, inplace_soft, cfg.kd_temp)
            else:
                loss = ce_loss(out, y, cfg.label_smoothing) + kd_loss(out, teacher_soft, cfg.kd_temp)
            (loss * job.weight).backward()
            if job is plan.jobs[0]:
                if job.loss == "ce":  # sandwich: the max net's outputs teach the other subnets
                    inplace_soft = soft_targets(out, cfg.kd_temp)
                for lv in self.levers:
                    lv.on_batch(idx, out.detach(), y)
            if self.averager is not None:
                self.averager.add(net, job.cfg, job.weight)
            total += loss.detach()
        if self.graphs is not None:
            self.graphs.release_unused()
        if self.averager is not None:
            self.averager.apply()
        if self.ctx.world > 1:
            allreduce_grads(net, self.ctx.world)
        for lv in self.levers:
            lv.after_backward(net, it)
        self.optimizer.step()
        for lv in self.levers:
            lv.after_step(net, it)
        teacher_cfg = self.space.max() if teacher_soft is not None else None
        self.ledger.add_step(self.cost, [j.cfg for j in plan.jobs], len(y) * self.ctx.world, teacher_cfg)
        for lv in self.levers:
            lv.on_step_done([j.cfg for j in plan.jobs], len(y) * self.ctx.world)
        return plan, total / len(plan.jobs)

    # -------------------------------------------------------------------- run
    def _phase_hooks(self, epoch: int) -> None:
        phase = self.method.phase_at(epoch)
        if self.method.uses_teacher and phase.teacher and self.teacher is None:
            self.teacher = self._frozen(copy.deepcopy(self.net))
            if self.ctx.main:
                save_supernet(self.teacher, self.run_dir.teacher, {"role": "teacher", "epoch": epoch})
            self.state["teacher"] = True
        expands_shrink = phase.compound or (phase.expands is not None and min(phase.expands) < max(self.space.expands))
        if self.cfg.reorder and expands_shrink and not self.state["reordered"]:
            reorder_channels(self.net, self.optimizer)
            self.state["reordered"] = True

    def _epoch_end(
        self,
        it: int,
        epoch: int,
        plan: StepPlan,
        epoch_seconds: float,
        epoch_images: int,
        progress: TrainProgress,
    ) -> dict[str, Any]:
        """The epoch's metrics record, with the probes' top-1 when due (``progress`` shows which probe runs),
        appended to ``metrics.jsonl``."""
        cfg = self.cfg
        last = epoch == cfg.epochs - 1
        record: dict[str, Any] = {
            "epoch": epoch,
            "it": it + 1,
            "phase": plan.phase,
            "lr": plan.lr,
            **({"beta": plan.beta} if self.method.uses_beta else {}),
            "train_loss": self.state["epoch_loss"] / max(1, self.state["epoch_steps"]),
            "images_per_s": epoch_images / max(epoch_seconds, 1e-9),
        }
        if self.ctx.main and cfg.probe_every and ((epoch + 1) % cfg.probe_every == 0 or last):
            cfgs, head = probe_configs(self.space), progress.head(plan, it)

            def probing(i: int, name: str) -> None:
                progress.status(
                    f"{head}  probe {name} ({i + 1}/{len(cfgs)}): BN recalibration on {len(self.calib):,} images, "
                    f"top-1 on {len(self.val):,}"
                )

            probes = evaluate_probes(self.net, cfgs, self.calib, self.val, self.ctx.device, on_probe=probing)
            record["probes"] = {k: v["top1"] for k, v in probes.items()}
            self.state["probes"] = record["probes"]
        self._collect_saved_flops()  # else the epoch's line would show the savings of the last checkpoint
        ledger = self.ledger.to_dict()
        keep = ("images", "total_flops", "steps") + (("saved_flops", "computed_flops") if ledger["saved_flops"] else ())
        record["ledger"] = {k: ledger[k] for k in keep}
        if self.ctx.main:
            self.run_dir.append_metrics(record)
        self.state["epoch_loss"], self.state["epoch_steps"] = 0.0, 0
        return record

    def open(self, resume: bool = False) -> int:
        """Lock and create the run directory (or, with ``resume``, load its checkpoint) and set up the
        levers; returns the iteration training starts at. :meth:`run` calls it; call it to drive
        :meth:`step`, then :meth:`close`."""
        if self.ctx.main and self._lock is None:  # one writer per run directory: another is refused, not raced
            root = self.run_dir.root
            self._lock = hold_lock(
                root / ".lock",
                f"another ofa-edge train (process {{pid}}) is writing '{root}' now; wait for it to finish (then "
                f"{option_name('resume')}), or choose another {option_name('out')}.",
            )
        try:
            start_it = self._open_run(resume)
            for lv in self.levers:
                lv.setup(self.net, self.optimizer, len(self.data))
        except BaseException:
            self.close()
            raise
        self._start_it = self._pending_from = self._saved_it = start_it
        self._resumed_mid_epoch = start_it % self.loader.steps_per_epoch != 0  # its order came from the checkpoint
        self.net.train()
        return start_it

    def step(self, it: int) -> tuple[StepPlan, torch.Tensor]:
        """Train iteration ``it`` (after :meth:`open`): where it starts an epoch, the epoch's data order
        and the levers' epoch hooks; the phase's hooks; then the step. Returns the step's plan and its
        mean loss over the subnets, still on the device."""
        epoch, step = divmod(it, self.loader.steps_per_epoch)
        first = it == self._start_it
        if step == 0 and not (first and self._resumed_mid_epoch):
            order = self.loader.order(epoch)
            for lv in self.levers:
                order = lv.epoch_order(epoch, order)
            self._use_order(order)
        if step == 0 or first:
            for lv in self.levers:
                lv.on_epoch_start(epoch, self.net)
        self._phase_hooks(epoch)
        return self._step(it, epoch, step)

    def close(self) -> None:
        """Release the run directory (:meth:`run` does it when it returns or fails)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def run(self, resume: bool = False, show_progress: bool = True) -> dict[str, Any]:
        """Train to the end (or to ``time_limit_s``); returns the result document."""
        start_it = self.open(resume)
        try:
            return self._train(start_it, show_progress)
        finally:
            self.close()

    def _train(self, start_it: int, show_progress: bool) -> dict[str, Any]:
        cfg = self.cfg
        spe, total_its = self.loader.steps_per_epoch, self.method.p.total_iters
        self._mark = t0 = time.perf_counter()
        stopped = False
        live = show_progress and self.ctx.main and start_it < total_its and self.console.is_terminal
        ep_t0, ep_images = time.perf_counter(), 0
        with TrainProgress(self.console, self.method, cfg.method, start_it, live) as progress:
            for it in range(start_it, total_its):
                epoch, step = divmod(it, spe)
                plan, loss = self.step(it)
                self._pending_loss = loss if self._pending_loss is None else self._pending_loss + loss
                self.state["epoch_steps"] += 1
                ep_images += cfg.batch_size * self.ctx.world
                synced = (it + 1) % self._sync_every == 0 or step == spe - 1
                if synced:  # reading the loss waits for the device
                    shown = self._fold_loss(it + 1)
                    now = time.perf_counter()
                    rate = ep_images / max(now - ep_t0, 1e-9)
                    progress.step_done(plan, it, shown, rate)
                saved = step == spe - 1 or bool(cfg.ckpt_every and (it + 1) % cfg.ckpt_every == 0)
                if step == spe - 1:  # ``now`` was read just above, after the epoch's last sync
                    rec = self._epoch_end(it, epoch, plan, now - ep_t0, ep_images, progress)
                    if self.ctx.main:  # one line per epoch, also with --no-progress (a log's record)
                        progress.epoch_line(plan, rec)
                    progress.step_done(plan, it, shown, rate)  # the status again: the probes' are over
                    self._save(it + 1)
                    ep_t0, ep_images = time.perf_counter(), 0
                elif saved:
                    self._save(it + 1)
                if it + 1 < total_its and self._out_of_time(t0, synced or saved):
                    if not saved:
                        self._save(it + 1)
                    stopped = True
                    break
        return self._finish(start_it, stopped)

    def _out_of_time(self, t0: float, synced: bool) -> bool:
        """Whether ``time_limit_s`` has passed since ``t0``. Under DDP rank 0's clock decides for all
        ranks, at the steps where they synchronise anyway (every ``SYNC_EVERY`` steps, checkpoints
        and epoch ends): ranks that disagreed would wait on each other forever."""
        limit = self.cfg.time_limit_s
        if limit is None or (self.ctx.world > 1 and not synced):
            return False
        up = time.perf_counter() - t0 >= limit
        return rank0_decides(up, self.ctx.device) if self.ctx.world > 1 else up

    def _finish(self, start_it: int, stopped: bool) -> dict[str, Any]:
        rd = self.run_dir
        done = not stopped
        # a finished run resumed keeps its supernet (and timestamp), unless a kill came before it was written
        trained = start_it < self.method.p.total_iters or not rd.supernet.exists()
        if done and trained and self.ctx.main:
            provenance = {
                "training": {
                    "config": self.cfg.to_dict(),
                    "levers": {lv.name: lv.settings() for lv in self.levers},  # e.g. a 2:4 sparse supernet's
                    "ledger": self.ledger.to_dict(),
                    "probes_top1": self.state.get("probes", {}),
                    "train_images": len(self.data),
                    "classes": self.data.classes,
                    "data": str(Path(self.cfg.data).absolute()),
                    "torch": torch.__version__,
                    "finished": now_utc(),
                }
            }
            save_supernet(self.net, rd.supernet, provenance)
        return {
            "run_dir": str(rd.root),
            "method": self.cfg.method,
            "status": "stopped (time limit); run again with --resume" if stopped else "complete",
            "resumed_at_iteration": start_it,
            "iterations": self.method.p.total_iters,
            "steps_per_epoch": self.loader.steps_per_epoch,
            "phases": [{"name": p.name, "epochs": [p.start, p.end]} for p in self.method.phases],
            "probes_top1": self.state.get("probes", {}),
            "ledger": self.ledger.to_dict(),
            **({"cuda_graphs": self.graphs.stats()} if self.graphs is not None else {}),
            "supernet": str(rd.supernet) if done else None,
            "checkpoint": str(rd.checkpoint),
            "metrics": str(rd.metrics),
        }
