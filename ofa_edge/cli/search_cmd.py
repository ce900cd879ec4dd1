"""``ofa-edge search``: the most accurate subnet under latency / FLOPs / params budgets."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, SeedOpt, data_help, emit, note, out, warn
from ofa_edge.export.formats import timed_on_tensorrt
from ofa_edge.latency.device_timer import drift_warning
from ofa_edge.latency.validate import validation_phrase
from ofa_edge.search.algorithms import ALGORITHMS
from ofa_edge.search.options import ACCURACY_PROXIES, SearchOptions
from ofa_edge.search.ranking import DEFAULT_TIE
from ofa_edge.search.refine import PER_ROUND
from ofa_edge.search.runner import run_search

Multi = list[str]


def _choices(names: tuple[str, ...]) -> str:
    """An option's metavar listing its choices, as click shows a choice's: ``[a|b|c]`` (the value is checked, with
    the closest name for a typo, where the search reads it)."""
    return f"[{'|'.join(names)}]"


def search(
    latency: Annotated[
        Multi,
        typer.Option(
            "--latency",
            metavar="TIME",
            help="Latency budget (15ms, 900us, 0.015s); repeat or comma-list, paired with --device in order.",
        ),
    ] = [],  # noqa: B006
    device: Annotated[
        Multi,
        typer.Option(
            "--device",
            metavar="NAME",
            help="Target device (default: the one the last `ofa-edge profile` here wrote a table for, else x86-cpu); "
            "repeat or comma-list for several.",
        ),
    ] = [],  # noqa: B006
    table: Annotated[
        Multi, typer.Option("--table", metavar="PATH", help="Explicit latency table JSON (one per device, in order).")
    ] = [],  # noqa: B006
    flops: Annotated[str | None, typer.Option("--flops", help="MACs budget (OFA's 'FLOPs'), e.g. 300M.")] = None,
    params: Annotated[str | None, typer.Option("--params", help="Parameter budget, e.g. 5M.")] = None,
    algo: Annotated[
        str,
        typer.Option(
            "--algo",
            metavar=_choices(ALGORITHMS),
            help="Search algorithm: evolution (once-for-all's), tpe or nsga2 (Optuna's samplers), random.",
        ),
    ] = "evolution",
    supernet: Annotated[
        str | None,
        typer.Option("--supernet", metavar="PATH", help="Trained supernet .safetensors (default: embedded)."),
    ] = None,
    accuracy_proxy: Annotated[
        str | None,
        typer.Option(
            "--accuracy-proxy",
            metavar=_choices(ACCURACY_PROXIES),
            help="'macs': rank by MACs instead of predicted accuracy (a proxy; measures nothing). With --supernet: in its space, and export takes its weights.",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="PATH",
            help=data_help("on which subnets' accuracy is measured"),
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            help="Subnets measured to fit the accuracy predictor, if none is cached (default 1000; with "
            "--refit-predictor, as many as the cached predictor was fitted on: their accuracies are cached).",
            show_default=False,
        ),
    ] = None,
    refit_predictor: Annotated[
        bool,
        typer.Option(
            "--refit-predictor",
            help="Fit the accuracy predictor again on --samples subnets (measured accuracies are reused; the "
            "new ones to measure are counted before it starts), replacing the cached one.",
        ),
    ] = False,
    population: Annotated[int, typer.Option("--population", help="Evolution population.")] = 100,
    generations: Annotated[int, typer.Option("--generations", help="Evolution generations.")] = 500,
    trials: Annotated[
        int | None,
        typer.Option("--trials", help="Trials for tpe/nsga2 (default 300) or random (default: the evolution budget)."),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Subnets shown and reported.")] = 5,
    tie: Annotated[
        float,
        typer.Option(
            "--tie",
            help="Predicted accuracies within this many points of the best count as equal; the fastest of them "
            "ranks first (0: by accuracy alone).",
        ),
    ] = DEFAULT_TIE,
    out_dir: Annotated[
        str | None, typer.Option("--out", metavar="PATH", help="Output folder (default <work dir>/search).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage", help="Shared Optuna storage: sqlite:///x.db, postgresql://..., or a journal file path."
        ),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option(
            "--study", "--study-name", help="Optuna study name shared by workers (--study-name, as Optuna's CLI)."
        ),
    ] = None,
    refine: Annotated[
        int,
        typer.Option(
            "--refine",
            help=f"DyNAS-T-style rounds: measure the {PER_ROUND} best for real, refit, search again (not with --storage).",
        ),
    ] = 0,
    measure: Annotated[
        bool, typer.Option("--measure/--no-measure", help="Time the chosen subnet when the device is this machine.")
    ] = True,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Search the most accurate subnet that meets every budget (on every device given)."""
    opts = SearchOptions(
        latency=latency,
        devices=device,
        tables=table,
        flops=flops,
        params=params,
        algo=algo,
        supernet=supernet,
        accuracy_proxy=accuracy_proxy,
        data=data,
        samples=samples,
        refit_predictor=refit_predictor,
        population=population,
        generations=generations,
        trials=trials,
        top_k=top_k,
        tie=tie,
        out=out_dir,
        storage=storage,
        study=study,
        seed=seed,
        refine=refine,
        measure=measure,
        progress=True,
    )
    report = run_search(opts, note, warn)
    emit(report, as_json, lambda: _render(report))


def _render(r: dict[str, Any]) -> None:
    devices, top = list(r["devices"]), r["top_k"]
    inline = len(devices) == 1  # several devices get their own latency table (rows = devices)
    budgets = [f"{d} ≤ {r['devices'][d]['budget_ms']:g} ms" for d in devices if r["devices"][d]["budget_ms"]]
    counts = {"macs": "MACs", "params": "params"}  # --flops, --params: in the columns' units
    budgets += [f"{counts[b['metric']]} ≤ {b['limit'] / 1e6:g}M" for b in r["bounds"] if b["metric"] in counts]
    evaluations, redrawn = r["search"]["evaluations"], r["search"].get("regenerated")
    title = f"top {len(top)} subnets ({r['search']['algorithm']}, {evaluations} evaluations"
    title += f" = {evaluations - redrawn} + {redrawn} redrawn" if redrawn else ""
    if study := r["search"].get("study"):  # a shared study: ranked over every worker's trials, not this run's
        title += f"; top of {r['search']['trials_in_study']} trials in study '{study}'"
    t = Table(title=title + "".join(f"; {b}" for b in budgets) + ")")
    t.add_column("#", no_wrap=True)
    t.add_column("id", no_wrap=True)
    t.add_column(r["accuracy_name"], justify="right", max_width=9)  # a long name wraps; its numbers are short
    if inline:
        for d in devices:
            t.add_column(_device_label(f"{d} ms", r["devices"][d], "\n"), no_wrap=True, justify="right")
    t.add_column("MACs", no_wrap=True, justify="right")
    t.add_column("params", no_wrap=True, justify="right")
    t.add_column("subnet")  # wraps first where a long device name leaves 80 columns too few
    for row in top:
        t.add_row(
            str(row["rank"]),
            row["id"],
            f"{row['accuracy']:.2f}",
            *((f"{row['latency_ms'][d]:.3f}" for d in devices) if inline else ()),
            f"{row['macs'] / 1e6:.1f}M",
            f"{row['params'] / 1e6:.2f}M",
            _short(row["subnet"]),
        )
    out.print(t)
    if not inline:
        lt = Table(title="predicted latency (ms) of the top subnets")
        lt.add_column("device", no_wrap=True)
        lt.add_column("budget", no_wrap=True, justify="right")
        for row in top:
            lt.add_column(f"#{row['rank']}", no_wrap=True, justify="right")
        for d in devices:
            budget = r["devices"][d]["budget_ms"]
            lt.add_row(
                _device_label(d, r["devices"][d]),
                f"{budget:g}" if budget else "-",
                *(f"{row['latency_ms'][d]:.3f}" for row in top),
            )
        out.print(lt)
    out.print(f"chosen: {r['id']} {r['describe']}")
    source = r.get("accuracy_source") or {}
    rounds = source.get("refinement") or []
    for rd in rounds:
        out.print(
            f"refine round {rd['round']}: measured top-1 {', '.join(f'{m:.2f}' for m in rd['measured'])} (predicted "
            f"{', '.join(f'{p:.2f}' for p in rd['predicted_before'])}); refitted RMSE {rd['rmse']:.2f} pt, "
            f"Kendall tau {rd['kendall_tau']:.3f}"
        )
    rmse = rounds[-1]["rmse"] if rounds else source.get("rmse")  # the predictor that ranked the table
    spread = max(row["accuracy"] for row in top) - min(row["accuracy"] for row in top)
    if rmse and len(top) > 1 and spread < rmse:
        advice = "" if rounds else "; --refine N measures the best ones on real data"
        out.print(
            f"[dim]the top {len(top)} lie within {spread:.2f} pt, under the predictor's {rmse:.2f} pt error: it cannot "
            f"rank them{advice}.[/dim]"
        )
    for d, info in r["devices"].items():
        line = f"[bold]{d}[/bold]: predicted {info['predicted_ms']:.3f} ms"
        if v := info["validation"]:
            line += f" (±{validation_phrase(v)})"
        if "measured" in info:
            m = info["measured"]
            at = ", at the table's reference speed" if m.get("speed_reference") else ""
            line += f", measured {m['median_ms']:.3f} ms (median of {m['runs']}, {m['backend']}{at})"
            budget = info.get("budget_ms")
            now = m["median_ms"] * (m.get("speed_factor") or 1.0)  # at this machine's speed now
            if budget is not None and max(m["median_ms"], now) > budget:
                line += f"; [yellow]over the {budget:g} ms budget here[/yellow]"
            drift = drift_warning(m.get("speed_factor"), m["median_ms"], m.get("same_cpu"))
            line += f"\n  [yellow]{drift}[/yellow]" if drift else ""
        if info["estimated"]:
            line += " [yellow](estimated table)[/yellow]"
        out.print(line)
    files = r["files"]
    out.print(f"chosen subnet: {files['subnet']}", soft_wrap=True)
    out.print(f"front of the subnets meeting every bound: {files['pareto_csv']}, {files['pareto_png']}", soft_wrap=True)
    took = r["search"]["seconds"]  # a predictor-only search of a few hundred candidates takes milliseconds
    took_text = f"{took:.2f} s" if took >= 0.1 else f"{took * 1e3:.1f} ms"
    out.print(f"search: {took_text}, {r['search']['candidates_per_s']:,.0f} candidates/s")
    for line in next_exports(r["devices"], files["subnet"]):
        out.print(line, soft_wrap=True)


def next_exports(devices: dict[str, dict], subnet: str) -> list[str]:
    """What to run next, as ultralytics says it: the export of the chosen subnet, as a TensorRT engine for the
    devices whose tables were timed on TensorRT and as ONNX for the others (one command per format, naming
    its devices where the search had both kinds)."""
    by_format: dict[str, list[str]] = {}
    for name, info in devices.items():
        trt = timed_on_tensorrt(info.get("provenance") or {})
        by_format.setdefault(" --format trt" if trt else "", []).append(name)
    if len(by_format) == 1:
        return [f"next: ofa-edge export{next(iter(by_format))} --subnet {subnet}"]
    return ["next, one bundle per runtime:"] + [
        f"  ofa-edge export{flag} --subnet {subnet}  # {', '.join(names)}" for flag, names in by_format.items()
    ]


def register(app: typer.Typer) -> None:
    app.command("search")(search)


def _device_label(label: str, info: dict[str, Any], sep: str = " ") -> str:
    """``label`` (a device's name, or its latency column's header) marked when the device's table is estimated."""
    return f"{label}{sep}[yellow](estimated)[/yellow]" if info["estimated"] else label


def _short(subnet: dict[str, Any]) -> str:
    """``r28 d43443 k5.2 e4.6``: a subnet's resolution, blocks per stage, and the mean kernel and
    expand ratio of the blocks it runs (the full subnet is in subnet.json and the JSON output; two rows
    that read the same here differ in the id column)."""
    from ofa_edge.space.config import SubnetConfig

    active = SubnetConfig.from_dict(subnet).active_blocks()
    kernel = sum(subnet["kernel"][b] for b in active) / len(active)
    expand = sum(subnet["expand"][b] for b in active) / len(active)
    return f"r{subnet['resolution']} d" + "".join(map(str, subnet["depth"])) + f" k{kernel:.1f} e{expand:.1f}"
