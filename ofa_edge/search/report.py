"""The report of a finished search, and the files it writes.

Ranks the feasible subnets into the top-k, traces each device's Pareto front, times the chosen
subnet on this machine where its table was measured here, and writes ``subnet.json``,
``pareto.csv``, ``pareto.png`` and ``search.json`` to the output folder, then
``<work_dir>/last_search.json`` (read by ``export``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_json, hold_lock, staged_files
from ofa_edge.latency.backends import why_not_here
from ofa_edge.latency.devices import LOCAL_DEVICE, load_device
from ofa_edge.paths import last_search_path
from ofa_edge.search.algorithms import SearchResult
from ofa_edge.search.constraints import DeviceTarget
from ofa_edge.search.ranking import rank_candidates
from ofa_edge.space.genome import decode

if TYPE_CHECKING:
    from ofa_edge.say import Log
    from ofa_edge.search.options import SearchOptions
    from ofa_edge.search.runner import Prepared


def _timed_here(target: DeviceTarget) -> bool:
    """Whether this machine can time a subnet the way ``target``'s table was measured: the machine itself
    (:data:`LOCAL_DEVICE`), or a device of yours with a table measured here whose backend runs here."""
    if target.name == LOCAL_DEVICE:
        return True
    if target.table.estimated or target.table.provenance.get("fetched"):  # fetched: another machine's (--ssh)
        return False
    try:
        device = load_device(target.name)
    except UserError:  # a --table of a device this machine has no file for
        return False
    return why_not_here(device, target.table.provenance.get("threads")) is None


def _row_predictions(row: dict[str, Any], proxy: bool) -> dict[str, Any]:
    """A top-k row as ``last_search.json`` keeps it: its rank, id, subnet and predictions (its accuracy only
    where the ranking predicted one, not a proxy), which ``export --subnet ID`` carries into the bundle."""
    keys = ("rank", "id", "subnet", "latency_ms", "macs", "params", *(() if proxy else ("accuracy",)))
    return {k: row[k] for k in keys}


def _fronts(
    prep: Prepared, result: SearchResult, metrics: dict[str, np.ndarray], chosen: dict[str, Any]
) -> tuple[dict, list]:
    """Each device's accuracy/latency front of the scored candidates that meet every bound, with those beyond it
    that break one (:func:`~ofa_edge.search.pareto.selectable_front`), for ``pareto.png`` (with ``chosen``, the
    #1 row, marked) and as the rows of ``pareto.csv``."""
    from ofa_edge.search.pareto import Front, selectable_front

    fronts, rows = {}, []
    scored = np.flatnonzero(~np.isnan(result.accuracy))
    for t in prep.targets:
        latency = metrics[t.metric]
        idx = scored[selectable_front(result.accuracy[scored], latency[scored], result.feasible[scored])]
        acc, lat, feasible = result.accuracy[idx], latency[idx], result.feasible[idx]
        chosen_pt = (chosen["latency_ms"][t.name], chosen["accuracy"])
        fronts[t.name] = Front(lat, acc, feasible, t.budget_ms, t.table.estimated, chosen_pt)
        for cfg, a, ms, ok in zip(decode(prep.problem.space, result.genomes[idx]), acc, lat, feasible, strict=True):
            rows.append(
                {
                    "device": t.name,
                    "latency_ms": float(ms),
                    "latency_kind": t.table.kind,
                    "accuracy": float(a),
                    "feasible": bool(ok),
                    "subnet": cfg.to_json(),
                }
            )
    return fronts, rows


def write_report(opts: SearchOptions, prep: Prepared, result: SearchResult, note: Log) -> dict[str, Any]:
    """The report ``run_search`` returns, written with the chosen subnet and the fronts to ``prep.out``."""
    from ofa_edge.search.pareto import plot_fronts, write_csv

    problem = prep.problem
    # every metric of every scored candidate, once: the top-k reads the feasible ones, the fronts all of them
    metrics = {name: metric(result.genomes) for name, metric in problem.metrics.items()}
    distinct = result.distinct_feasible(problem.space)
    acc = result.accuracy[distinct]
    cost, cost_name = (
        (metrics[prep.targets[0].metric][distinct], f"on {prep.targets[0].name}")
        if prep.targets
        else (metrics["macs"][distinct], "in MACs")
    )
    order = rank_candidates(acc, cost, opts.tie)
    cfgs = decode(problem.space, result.genomes[distinct[order[: opts.top_k]]])
    if acc[order[0]] < acc.max():
        note(
            f"#1 is {acc.max() - acc[order[0]]:.3f}{'' if 'proxy' in prep.accuracy_info else ' pt'} below the most accurate candidate and "
            f"{1 - cost[order[0]] / cost[np.argmax(acc)]:.1%} cheaper {cost_name}: predictions within "
            f"--tie {opts.tie:g} count as equal and the cheapest leads (--tie 0: by accuracy alone)"
        )

    def row(i: int, cfg: Any) -> dict[str, Any]:
        j = distinct[order[i]]
        return {
            "rank": i + 1,
            "id": cfg.short_id(),
            "accuracy": float(result.accuracy[j]),
            "latency_ms": {t.name: float(metrics[t.metric][j]) for t in prep.targets},
            "macs": float(metrics["macs"][j]),
            "params": float(metrics["params"][j]),
            "subnet": cfg.to_dict(),
            "describe": cfg.describe(),
        }

    top = [row(i, c) for i, c in enumerate(cfgs)]
    chosen = cfgs[0]
    out = prep.out
    fronts, front_rows = _fronts(prep, result, metrics, top[0])
    devices = {
        t.name: {
            "budget_ms": t.budget_ms,
            "predicted_ms": top[0]["latency_ms"][t.name],
            "table": t.table_path,
            "estimated": t.table.estimated,
            "fastest_ms": prep.minima.get(t.metric),
            "budget_binds": t.budget_ms is not None and t.metric not in prep.loose,
            "provenance": t.table.provenance,
            "validation": prep.validation[t.name],
        }
        for t in prep.targets
    }
    for t in [t for t in prep.targets if _timed_here(t)] if opts.measure else []:
        from ofa_edge.latency.device_timer import measure_on_device

        note(f"measuring the chosen subnet on this machine with {t.name}'s backend")
        devices[t.name]["measured"] = measure_on_device(chosen, prep.cost.num_classes, t.table)
    first = prep.targets[0]
    predicted = {  # a proxy ranking (--accuracy-proxy macs) is no accuracy: export must not show it as one
        "latency_ms": top[0]["latency_ms"][first.name],
        **({} if prep.accuracy_info.get("proxy") else {"accuracy": top[0]["accuracy"]}),
        "macs": top[0]["macs"],
        "params": top[0]["params"],
    }
    last = {
        "subnet": chosen.to_dict(),
        "supernet": str(Path(prep.supernet).absolute()) if prep.supernet else None,  # export runs from anywhere
        "device": first.name,
        "devices": devices,
        "predicted": predicted,
        "latency_table": first.table.provenance,
        "top_k": [_row_predictions(row, proxy="accuracy" not in predicted) for row in top],  # export --subnet ID
    }
    report = {  # a superset of last_search.json: export reads either one
        **last,
        "id": chosen.short_id(),
        "describe": chosen.describe(),
        "accuracy_source": prep.accuracy_info,
        "accuracy_name": problem.accuracy_name,
        "bounds": [{"metric": b.metric, "limit": b.limit, "label": b.label} for b in problem.bounds],
        "top_k": top,
        "search": {
            "algorithm": result.algorithm,
            "evaluations": result.evaluations,
            "seconds": result.seconds,
            "candidates_per_s": result.evaluations / max(result.seconds, 1e-9),
            "seed": opts.seed,
            "feasible_unique": len(acc),
            "tie": opts.tie,
            "best_so_far": [
                None if np.isnan(h) else h for h in map(float, result.history)
            ],  # per generation/chunk/trial
            **result.extra,
        },
        "files": {
            "subnet": str(out / "subnet.json"),
            "pareto_csv": str(out / "pareto.csv"),
            "pareto_png": str(out / "pareto.png"),
            "last_search": str(last_search_path().absolute()),
        },
    }
    # one search writes --out and last_search.json at a time: two at once left one's subnet.json beside the other's
    # search.json (workers of a shared study default to the same --out); the second waits, then replaces the set.
    # The set is staged: a full disk mid-set leaves the previous one whole, and the rest of --out is not touched.
    with hold_lock(out.with_name(f".{out.name}.lock"), "", wait=True):
        with staged_files(out) as stage:
            chosen.save(stage / "subnet.json")
            write_csv(stage / "pareto.csv", front_rows)
            plot_fronts(stage / "pareto.png", fronts, problem.accuracy_name)
            atomic_write_json(stage / "search.json", report)
        atomic_write_json(last_search_path(), last)  # --out is whole before the work folder is touched
    return report
