"""What ``ofa-edge profile`` prints for its results: a measured table (with its correction and
validation), an estimated one, and a ``--check`` / ``--rescale`` verdict."""

from __future__ import annotations

import os
from typing import Any

from rich.table import Table

from ofa_edge.cli.common import out
from ofa_edge.latency.drift import fitted_elsewhere_note
from ofa_edge.latency.estimate import PRIOR_EFFICIENCY


def render_check(result: dict[str, Any]) -> None:
    f = result["factor"]
    pct = 100 * (f - 1)
    spread = (
        f"median of {len(result['readings'])} readings, {min(result['readings']):.3f}–{max(result['readings']):.3f}"
    )
    rescaled = f", rescaled {result['last_rescaled']}" if result.get("last_rescaled") else ""
    if result["holds"]:
        out.print(f"[green]holds[/green]: this machine runs at {f:.3f}× the table's scale ({pct:+.2f}%; {spread}).")
    else:
        out.print(
            f"[yellow]off[/yellow]: latencies here are {f:.3f}× the table's scale ({pct:+.2f}%; {spread}), so its "
            f"predictions are {abs(pct):.0f}% {'low' if f > 1 else 'high'} on this machine now (table measured "
            f"{result['measured']}{rescaled}; ±{100 * result['tolerance']:.0f}% holds)."
        )
    if result["busy"]:
        out.print(
            f"[yellow]this machine is busy[/yellow] (1-minute load {result['load_average']:.1f} on "
            f"{os.cpu_count()} cores): other processes move these readings, so checks minutes apart can disagree; "
            "check again when it is quiet before acting on the verdict."
        )
    if result["rescaled"]:
        out.print(
            f"rescaled [bold]{result['table']}[/bold] by {f:.3f}× to this machine's speed now "
            "(provenance.rescaled records it); check it with --validate 200."
        )
    elif not result["holds"]:
        out.print(
            "Put the table on this speed (--rescale, 10 s; then --calibrate 100 refits its correction here), or "
            "profile again in these conditions (--force --calibrate 100); if the load is passing, check again later."
        )


def _fitted_where(result: dict[str, Any]) -> str:
    """Where the correction (and its fit error) comes from, when another CPU fitted it."""
    where = fitted_elsewhere_note(result.get("correction_fitted_on"), "this CPU")
    return f"{where}: refit it here with --calibrate 100" if where else ""


def render_measured(result: dict[str, Any]) -> None:
    out.print(f"latency table [bold]{result['table']}[/bold]: {result['entries']} entries, complete")
    corr = result.get("correction")
    if corr:
        out.print(
            f"end-to-end correction: {corr['scale']:.3f} × LUT sum {corr['per_block']:+.4f} ms/block "
            f"{corr['per_mparam']:+.4f} ms/M weights {corr['offset']:+.3f} ms (fit MAPE {corr['fit_mape_pct']:.1f}% "
            f"on {corr['fitted_on']} subnets{_fitted_where(result)})"
        )
    if result.get("search_with"):
        out.print(f"search with it: [bold]{result['search_with']}[/bold]")
    val = result.get("validation")
    if not val:
        return
    t = Table(title=f"validation on {val['lut']['n']} random subnets (end to end)")
    for col in ("prediction", "within ±10%", "MAPE", "bias", "worst", "Kendall τ"):
        t.add_column(col)
    for name, m in (("LUT sum", val["lut"]), ("corrected", val["corrected"])):
        if m:
            t.add_row(
                name,
                f"{100 * m['within_10pct']:.1f}%",
                f"{m['mape_pct']:.2f}%",
                f"{m['bias_pct']:+.2f}%",
                f"{m['max_abs_err_pct']:.1f}%",
                f"{m['kendall_tau']:.3f}",
            )
    out.print(t)
    for kind, p in result["reports"].items():
        out.print(f"{kind}: {p}")


def render_estimate(result: dict[str, Any]) -> None:
    fit = result["fit"]
    out.print(f"[yellow]estimated[/yellow] latency table [bold]{result['table']}[/bold]: {result['entries']} entries")
    known = fit.get("efficiency_identified", {})
    eff = ", ".join(f"{k} {100 * v:.1f}%" for k, v in fit["efficiency"].items() if known.get(k, True))
    prior = [k for k in fit["efficiency"] if not known.get(k, True)]
    if prior:
        eff = (eff + "; " if eff else "") + (
            f"{', '.join(prior)} not identifiable (every such layer on {fit['reference_device']} is memory- or overhead-bound: "
            f"prior {100 * PRIOR_EFFICIENCY:.0f}% kept)"
        )
    own = result["layer_overhead_from"] == "device file"
    out.print(
        f"model fitted on {fit['reference_device']}: efficiency {eff}; overhead {fit['layer_overhead_us']:.1f} µs/layer"
        + (f" there, {result['layer_overhead_us']:.1f} µs/layer from the device file here" if own else "")
    )
    if own:
        out.print(
            f"[yellow]the errors below are of the model with the fitted {fit['layer_overhead_us']:.1f} µs/layer, "
            f"not of this table[/yellow]: nothing measured checks its {result['layer_overhead_us']:.1f} µs/layer "
            "from the device file"
        )
    out.print(
        f"model error there: per-block MAPE {fit['reference_key_mape_pct']:.1f}% "
        + (
            f"(held-out r{fit['reference_heldout_resolution']}: {fit['reference_heldout_key_mape_pct']:.1f}%)"
            if fit["reference_heldout_key_mape_pct"] is not None
            else "(no held-out resolution: the reference has one)"
        )
    )
    if fit.get("reference_e2e_mape_pct") is not None:
        out.print(
            f"end to end on {fit['reference_e2e_n']} subnets: MAPE {fit['reference_e2e_mape_pct']:.1f}%, "
            f"{100 * fit['reference_e2e_within_10pct']:.0f}% within ±10%"
        )
