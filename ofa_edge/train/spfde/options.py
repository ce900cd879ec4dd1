"""From ``ofa-edge train`` options to an :class:`SpfdeConfig`, with every default spelled out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.errors import UserError
from ofa_edge.space.search_space import SearchSpace

if TYPE_CHECKING:
    from ofa_edge.train.spfde.freezing import FreezeConfig
    from ofa_edge.train.spfde.lever import SpfdeConfig

# The defaults of --mask-update-frac and --mask-grow; the levers (torch) are imported when resolved, so
# `ofa-edge train --help` reads these without them.
MASK_UPDATE_FRAC, MASK_GROW = 0.3, "gradient"


def default_mask_interval(epochs: int) -> int:
    """Δτ when ``--mask-interval`` is not given: 5% of the run, at least 1 epoch."""
    return max(1, round(0.05 * epochs))


def freezing_plan_note(space: SearchSpace, num_classes: int, config: FreezeConfig, epochs: int) -> str:
    """The freezing schedule of the network that trains (its class count moves the FLOPs target a little)."""
    from ofa_edge.train.spfde.freezing import flops_percent, plan_freezing

    plan, share = plan_freezing(space, num_classes, config, epochs)
    after = ", ".join(str(t) for t in plan if t > 0)  # as the epoch lines count; only the first can be 0
    times = ["one before epoch 1"] if plan[0] == 0 else []
    times += [f"one after {'each of epochs' if ',' in after else 'epoch'} {after}"] if after else []
    return (
        f"freezing: {len(plan)} unit(s) (stem, then blocks), {', then '.join(times)}, a planned saving of "
        f"{flops_percent(share)} of the training FLOPs (target {flops_percent(config.flops_target)})"
    )


def _refuse_orphans(*pairs: tuple[str, object, str, object, str]) -> None:
    """A lever's timing option given without the lever would be silently ignored: refuse it. ``lever``
    reads "a lever that is off; add --x", ``example`` is a complete option with its value."""
    for option, value, lever, lever_value, example in pairs:
        if value is not None and lever_value is None:
            raise UserError(f"{option} {value} times {lever} (e.g. {example}) or drop {option}.")


def resolve_spfde(
    space: str,
    epochs: int,
    *,
    sparsity: float | None = None,
    pattern: str = "unstructured",
    mask_interval: int | None = None,
    mask_update_frac: float = MASK_UPDATE_FRAC,
    mask_grow: str = MASK_GROW,
    freeze_flops_target: float | None = None,
    freeze_start: int | None = None,
    freeze_interval: int | None = None,
    sieve_frac: float | None = None,
    sieve_interval: int | None = None,
    reorder: bool = False,
) -> tuple[SpfdeConfig, list[str]]:
    """Validated lever settings and one note per default picked (empty config: all levers off).

    Δτ (``mask_interval``) is SpFDE's one interval: masks update, one more block freezes and the
    data is sieved every Δτ epochs unless ``freeze_interval`` / ``sieve_interval`` say otherwise.
    """
    from ofa_edge.train.spfde.freezing import FreezeConfig, freeze_time, plan_freezing
    from ofa_edge.train.spfde.lever import SpfdeConfig
    from ofa_edge.train.spfde.sieving import SieveConfig
    from ofa_edge.train.spfde.sparsity import SparsityConfig, check_mask_updates, check_pattern, parse_pattern

    notes: list[str] = []
    check_mask_updates(
        1 if mask_interval is None else mask_interval, mask_update_frac, mask_grow
    )  # also without --sparsity: a typo is a typo
    nm = parse_pattern(pattern)
    if nm is not None and sparsity is None:
        sparsity = 1 - nm[0] / nm[1]
        notes.append(f"sparsity: {sparsity:g} (pattern {pattern})")
    any_lever = next((v for v in (sparsity, freeze_flops_target, sieve_frac) if v is not None), None)
    freezing, sieving, sparse = (
        f"a lever that is off; add {flag}" for flag in ("--freeze-flops-target", "--sieve-frac", "--sparsity")
    )
    any_off = "the mask updates, freezing and sieving, all off; add --sparsity, --freeze-flops-target or --sieve-frac"
    _refuse_orphans(
        ("--freeze-start", freeze_start, freezing, freeze_flops_target, "--freeze-flops-target 0.05"),
        ("--freeze-interval", freeze_interval, freezing, freeze_flops_target, "--freeze-flops-target 0.05"),
        ("--sieve-interval", sieve_interval, sieving, sieve_frac, "--sieve-frac 0.2"),
        ("--mask-interval", mask_interval, any_off, any_lever, "--sparsity 0.5"),  # Δτ times all three levers
        # defaults are passed whether typed or not: only a value away from its default was surely asked for
        ("--mask-update-frac", None if mask_update_frac == MASK_UPDATE_FRAC else mask_update_frac, sparse, sparsity,
         "--sparsity 0.5"),
        ("--mask-grow", None if mask_grow == MASK_GROW else mask_grow, sparse, sparsity, "--sparsity 0.5"),
    )  # fmt: skip
    if mask_interval is None:
        mask_interval = default_mask_interval(epochs)
        if sparsity is not None or freeze_flops_target is not None or sieve_frac is not None:
            notes.append(f"mask-interval (Δτ): {mask_interval} epoch(s) (5% of the run, at least 1)")
    sp_cfg = fr_cfg = sv_cfg = None
    if sparsity is not None:
        sp_cfg = SparsityConfig(sparsity, pattern, mask_interval, mask_update_frac, grow=mask_grow)
        check_pattern(SearchSpace.get(space), sp_cfg)
        notes.append(
            f"sparse training: {sparsity:g} {pattern}, prune-and-grow every {mask_interval} epoch(s), "
            f"fraction {mask_update_frac:g} cosine-decaying to 0 at {sp_cfg.update_end:.0%} of the run, grow by {mask_grow}"
        )
        updates = [e for e in range(epochs - 1) if sp_cfg.updates_at(e) and sp_cfg.fraction_at(e, epochs) > 0]
        if not updates and mask_update_frac > 0:
            notes.append(
                f"the masks never prune-and-grow: --mask-interval {mask_interval} leaves no update before the "
                f"updates stop at {sp_cfg.update_end:.0%} of --epochs {epochs}; the run keeps its first mask, "
                "the largest-magnitude weights of the initialisation (lower --mask-interval or train more --epochs "
                "for dynamic sparsity)"
            )
    if freeze_flops_target is not None:
        if freeze_start is None:
            freeze_start = epochs // 2
            notes.append(
                f"freeze-start (T_frz): {freeze_start}, the first freeze {freeze_time(freeze_start)} (half the run)"
            )
        if freeze_interval is None:
            freeze_interval = mask_interval
            notes.append(f"freeze-interval: {freeze_interval} epoch(s) (= Δτ)")
        fr_cfg = FreezeConfig(freeze_start, freeze_interval, freeze_flops_target)
        if freeze_start == 0:
            train_first = "--freeze-start 1 or later" if epochs > 1 else "--epochs 2 or more and --freeze-start 1"
            notes.append(
                "freezing before epoch 1 (--freeze-start 0) freezes the stem before its first step: it keeps its "
                f"random initial weights for the whole run and the blocks learn on random features; {train_first} trains it first"
            )
        if freeze_start >= epochs:
            raise UserError(
                f"--freeze-start {freeze_start} must be below --epochs {epochs}: no block would freeze during the "
                f"run; use an epoch in [0, {epochs - 1}] or drop --freeze-start (default: half the run)."
            )
        sp = SearchSpace.get(space)
        plan_freezing(sp, sp.default_num_classes, fr_cfg, epochs)  # refuses a target beyond the network now
    if sieve_frac is not None:
        option = "--sieve-interval" if sieve_interval is not None else "--mask-interval"
        if sieve_interval is None:
            sieve_interval = mask_interval
            notes.append(f"sieve-interval: {sieve_interval} epoch(s) (= Δτ)")
        sv_cfg = SieveConfig(sieve_frac, sieve_interval)
        if not any(sv_cfg.sieves_at(e) for e in range(epochs - 1)):  # a sieve after the last epoch is never used
            notes.append(
                f"the data is never sieved: {option} {sieve_interval} leaves no sieve before the last of --epochs "
                f"{epochs}; the share held out at the start (--sieve-frac {sieve_frac:g}) is never trained on "
                f"(lower {option} or train more --epochs for circular sieving)"
            )
    if reorder and (sp_cfg is not None or fr_cfg is not None):
        raise UserError(
            "--reorder permutes channels of the shared weights, which would misalign sparsity masks and move "
            "frozen weights; drop --reorder when using --sparsity / --sparsity-pattern or --freeze-flops-target."
        )
    return SpfdeConfig(sp_cfg, fr_cfg, sv_cfg), notes
