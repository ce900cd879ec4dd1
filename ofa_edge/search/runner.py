"""``ofa-edge search`` as a library call: options in, report (and files) out.

Builds the :class:`SearchProblem` (accuracy source, latency tables, analytic costs, bounds),
checks every bound is achievable and runs the chosen algorithm; :mod:`ofa_edge.search.report`
then writes the chosen subnet, the top-k, the Pareto fronts and ``<work_dir>/last_search.json``
(read by ``export``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ofa_edge.data import DEFAULT_ROOT
from ofa_edge.data.formats import detect_format
from ofa_edge.errors import UserError, option_name, require_instance, warn_caller
from ofa_edge.io import check_output_folder, check_work_dir
from ofa_edge.latency.table import TABLE_OPTION, estimated_warning
from ofa_edge.latency.table_check import table_warnings
from ofa_edge.latency.validate import validated_error, validation_phrase
from ofa_edge.paths import require_embedded_supernet, work_dir
from ofa_edge.say import Log
from ofa_edge.search.algorithms import Evolution, OptunaSearch, RandomSearch, SearchAlgorithm, SearchResult
from ofa_edge.search.constraints import (
    DeviceTarget,
    check_achievable,
    cost_bounds,
    device_targets,
    latency_bounds,
    loose_bounds,
    loose_message,
)
from ofa_edge.search.options import SearchOptions, check_algorithm_options
from ofa_edge.search.predictor import TEST_FRACTION
from ofa_edge.search.problem import SearchProblem
from ofa_edge.search.report import write_report
from ofa_edge.search.storage import GRACE_PERIOD_S
from ofa_edge.space.cost import CostModel
from ofa_edge.space.search_space import SearchSpace
from ofa_edge.supernet.metadata import read_metadata

OUTPUT_FILES = ("subnet.json", "pareto.csv", "pareto.png", "search.json")  # what a search writes to --out


@dataclass
class Prepared:
    """A search ready to run: the problem, the device targets, the cost model, where accuracy comes
    from, and each metric's minimum and loosest bound over the space."""

    problem: SearchProblem
    targets: list[DeviceTarget]
    cost: CostModel
    supernet: str | None
    accuracy_info: dict[str, Any]
    minima: dict[str, float]
    loose: dict[str, float]  # bounds every subnet meets: metric -> its maximum
    out: Path  # the output folder, absolute
    validation: dict[str, dict[str, Any] | None]  # device -> its table's end-to-end error (validated_error)


def prepare(opts: SearchOptions, note: Log, warn: Log) -> Prepared:
    """Resolve defaults (printed through ``note``), load tables and predictor, build the problem."""
    if not opts.latency and not opts.flops and not opts.params:
        raise UserError(
            f"give at least one bound: {option_name('latency')} 15ms (per {option_name('devices', '--device')}), "
            f"{option_name('flops')} 300M or {option_name('params')} 5M."
        )
    out = check_output_folder(opts.out or work_dir() / "search", OUTPUT_FILES, "a search's output")
    check_work_dir()  # where last_search.json goes, for export: refused now, not after the search
    if not opts.out:
        note(f"output folder: {out} (default; pass {option_name('out')} DIR)")
    supernet = _supernet(opts, note)
    meta = None if supernet is None else read_metadata(supernet)  # once: the tables and the accuracy source take it
    targets, picked = device_targets(opts.devices, opts.latency, opts.tables, None if meta is None else meta["space"])
    for p in picked:
        note(p)
    validation = {t.name: validated_error(t.table, t.table_path) for t in targets}
    for t in targets:
        v = validation[t.name]
        checked = f"; {validation_phrase(v)}, timed end to end" if v else ""
        note(f"latency table for {t.name}: {t.table_path} ({t.table.status}{checked})")
        if (message := estimated_warning(t.table.provenance)) is not None:
            warn(message)
        for message in table_warnings(t.name, t.table, t.table_path):
            warn(message)
    space, num_classes, accuracy, acc_name, info = _accuracy_source(opts, supernet, meta, targets, note, warn)
    for t in targets:
        if t.table.space != space.name:
            raise UserError(
                f"the latency table of {t.name} ({t.table_path}) is for space '{t.table.space}' but the supernet is "
                f"'{space.name}'; pass {TABLE_OPTION} PATH to a table of '{space.name}', or profile one "
                f"(`ofa-edge profile --device {t.name} --space {space.name}`)."
            )
        if t.table.num_classes != num_classes:
            warn(f"table of {t.name} times a {t.table.num_classes}-class classifier; the supernet has {num_classes}.")
    resolutions = [r for r in space.resolutions if all(r in t.table.resolutions for t in targets)]
    if not resolutions:
        listed = "; ".join(f"{t.name}: {list(t.table.resolutions)}" for t in targets)
        raise UserError(  # one table always covers some: a table's resolutions are its space's, and never empty
            f"the latency tables share no input resolution ({listed}); profile them at common resolutions "
            f"(`ofa-edge profile --device NAME --resolutions {','.join(map(str, space.resolutions))}`)."
        )
    cost = CostModel(space, num_classes)
    # The search's genomes come from sample/mutate/crossover: trusted, unchecked on the hot path.
    metrics = {t.metric: functools.partial(t.table.predict, check=False) for t in targets} | {
        "macs": functools.partial(cost.macs, check=False),
        "params": functools.partial(cost.params, check=False),
    }
    bounds = latency_bounds(targets) + cost_bounds(opts.flops, opts.params)
    problem = SearchProblem(space, accuracy, metrics, bounds, tuple(resolutions), acc_name)
    minima = check_achievable(problem)
    loose = loose_bounds(problem)
    for b in problem.bounds:
        if b.metric in loose:
            warn(loose_message(b, loose[b.metric]))
    return Prepared(problem, targets, cost, supernet, info, minima, loose, out, validation)


MIN_CHECKED = 10  # held-out subnets below which the predictor's RMSE and Kendall tau say little


def _supernet(opts: SearchOptions, note: Log) -> str | None:
    """The supernet searched: ``--supernet``, else the embedded one (said through ``note``); None under
    ``--accuracy-proxy`` without ``--supernet``."""
    if opts.supernet is not None or opts.accuracy_proxy is not None:
        return opts.supernet
    supernet = str(
        require_embedded_supernet(", or --accuracy-proxy macs to rank subnets by MACs instead (a proxy, not accuracy)")
    )
    note(f"supernet: {supernet} (embedded pretrained default)")
    return supernet


def _accuracy_source(
    opts: SearchOptions,
    supernet: str | None,
    meta: dict[str, Any] | None,
    targets: list[DeviceTarget],
    note: Log,
    warn: Log,
) -> tuple:
    """The search space, class count, accuracy function, its name and its record: the predictor of ``supernet``
    (its ``meta``: :func:`read_metadata`), or the MACs proxy."""
    from ofa_edge.search.accuracy import predictor_for

    if supernet is not None and meta is not None and opts.accuracy_proxy is None:
        if opts.data is not None:
            detect_format(Path(opts.data))  # a missing folder or a file is refused here, as eval and export do
        data = opts.data or str(DEFAULT_ROOT)
        pred, info = predictor_for(
            supernet, data, opts.samples, seed=0, refit=opts.refit_predictor, progress=opts.progress
        )
        if info.get("reused"):
            seen = " on this data" if info["data_checked"] else f"; data not checked: no training split at {data}"
            note(f"accuracy predictor: {info['predictor']} (fitted for this supernet{seen})")
        else:
            note(
                f"accuracy predictor: fitted on {info['n_subnets']} measured subnets (data {data}), saved to {info['predictor']}"
            )
        if pred.report:
            r = pred.report
            note(f"predictor held-out RMSE {r.rmse:.2f} pt, Kendall tau {r.kendall_tau:.3f} ({r.n_test} subnets)")
            info["rmse"], info["kendall_tau"] = r.rmse, r.kendall_tau
            if r.n_test < MIN_CHECKED:
                warn(
                    f"the predictor's error rests on only {r.n_test} held-out subnet(s): it may rank subnets no "
                    f"better than chance. Fit it on more: search again with --refit-predictor --samples "
                    f"{math.ceil(MIN_CHECKED / TEST_FRACTION)} or more (measured accuracies are kept and reused)."
                )
        note(
            "predicted top-1 is of images from the training split, which a supernet trains on, so it reads above "
            "top-1 on the test split (`ofa-edge docs model-card`: by how much for the embedded supernet); "
            "`ofa-edge eval --subnet SUBNET.json` measures the test split"
        )
        return SearchSpace.get(meta["space"]), int(meta["num_classes"]), pred.predict, "predicted top-1 (%)", info
    if supernet is not None and meta is not None:  # its space and classes; export takes its weights
        space, num_classes, source = SearchSpace.get(meta["space"]), int(meta["num_classes"]), supernet
    else:
        table = targets[0].table
        space, num_classes, source = SearchSpace.get(table.space), table.num_classes, "the first table"
    cost = CostModel(space, num_classes)
    note(f"accuracy: MACs proxy (more MACs ranks higher; NOT an accuracy), space {space.name} from {source}")
    return space, num_classes, lambda g: cost.macs(g) / 1e6, "MACs proxy (M)", {"proxy": "macs"}


def make_algorithm(opts: SearchOptions, fingerprint: dict) -> tuple[Any, int]:
    """The algorithm object and its evaluation budget (``opts`` passed :func:`check_algorithm_options`)."""
    evo = Evolution(population=opts.population)
    if opts.algo == "evolution":
        return evo, evo.budget_for(opts.generations)
    if opts.algo == "random":
        return RandomSearch(), opts.trials or evo.budget_for(opts.generations)
    return OptunaSearch(opts.algo, opts.storage, opts.study, fingerprint, opts.progress), opts.trials or 300


def run_search(opts: SearchOptions, note: Log | None = None, warn: Log | None = None) -> dict[str, Any]:
    """Prepare, search, write outputs (to ``opts.out``, default ``<work dir>/search``); returns the report
    ``ofa-edge search --json`` prints. ``note`` receives the defaults it picks and its progress (default:
    dropped), ``warn`` its warnings (default: :func:`warnings.warn`)."""
    require_instance(opts, SearchOptions, "run_search", "pass SearchOptions(latency=[...], devices=[...], ...)")
    note = note or (lambda _: None)
    warn = warn or warn_caller
    check_algorithm_options(opts)
    prep = prepare(opts, note, warn)
    problem = prep.problem
    fingerprint = {
        "space": problem.space.name,
        "bounds": [[b.metric, b.limit] for b in problem.bounds],
        "accuracy": prep.accuracy_info.get("supernet_sha256", prep.accuracy_info.get("proxy")),
    }
    algo, budget = make_algorithm(opts, fingerprint)
    redrawn = " + those of children redrawn for breaking a bound" if opts.algo == "evolution" else ""
    note(f"algorithm: {opts.algo}, budget {budget} evaluations{redrawn}, seed {opts.seed}")
    if opts.refine:
        from ofa_edge.search.refine import PER_ROUND, refine

        note(f"refinement: {opts.refine} round(s), measuring the {PER_ROUND} best subnets of each (DyNAS-T style)")
        from ofa_edge.search.accuracy import MeasureSettings

        info = prep.accuracy_info  # measure exactly as the predictor's training data was measured
        result, rounds = refine(
            problem,
            lambda: _run(algo, problem, budget, opts.seed, note),
            prep.supernet,
            opts.data or str(DEFAULT_ROOT),
            int(info["n_subnets"]),
            opts.refine,
            settings=MeasureSettings.from_dict(info["settings"]),
            progress=opts.progress,
        )
        prep.accuracy_info["refinement"] = rounds
    else:
        result = _run(algo, problem, budget, opts.seed, note)
    best = result.best_index()
    if best is None:
        raise UserError("the search found no subnet meeting every bound; raise the budget(s) or the number of trials.")
    return write_report(opts, prep, result, note)


def _run(algo: SearchAlgorithm, problem: SearchProblem, budget: int, seed: int, note: Log) -> SearchResult:
    """``algo.search`` with numpy's BLAS on one thread. The predictor's matrices are one
    generation's children: a second BLAS thread gains little on an idle machine and, when any
    other process holds a core, its spin-waiting slowed the search 10-25x (measured)."""
    with threadpool_limits(limits=1, user_api="blas"):
        result = algo.search(problem, budget, np.random.default_rng(seed))
    _note_stale(result.extra.get("stale_trials_failed", 0), note)
    return result


def _note_stale(count: int, note: Log) -> None:
    """Say how many trials of a dead worker (RUNNING, no heartbeat) a shared-study search marked FAIL."""
    if count:
        were = "trial of a killed run was" if count == 1 else "trials of a killed run were"
        note(f"{count} {were} marked FAIL (RUNNING without a heartbeat for {GRACE_PERIOD_S} s)")
