"""``--validate N``: LUT-sum and corrected predictions against N subnets timed end to end.

Writes ``reports/<table>.validation.json`` (beside the table) and ``.png`` (predicted vs
measured) next to the table, and with ``--docs-dir`` a Markdown summary there, the plot copied beside it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ofa_edge.host import now_utc
from ofa_edge.io import atomic_write, atomic_write_json, atomic_write_text
from ofa_edge.latency.drift import ROUNDS, correction_fitted_elsewhere, fitted_elsewhere_note
from ofa_edge.latency.e2e import PASSES, validation_path
from ofa_edge.latency.stats import prediction_metrics
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space.config import SubnetConfig


def validation_report(
    table: LatencyTable,
    configs: list[SubnetConfig],
    measured_ms: np.ndarray,
    seed: int,
    *,
    warmup: int | None = None,
    repeats: int | None = None,
) -> dict[str, Any]:
    """Metrics for the LUT sum and (when the table has one) the corrected prediction."""
    lut = table.predict_lut(configs)
    pred = table.predict(configs)
    report: dict[str, Any] = {
        "device": table.device,
        "space": table.space,
        "kind": table.provenance.get("kind"),
        "rescaled_by": [r["factor"] for r in table.provenance.get("rescaled", [])],
        "backend": f"{table.provenance.get('backend')} {table.provenance.get('backend_version', '')}".strip(),
        "host_cpu": table.provenance.get("host_cpu"),
        "clock": table.provenance.get("clock", "wall"),
        "date": now_utc(),
        "seed": seed,
        "lut": prediction_metrics(lut, measured_ms),
        "corrected": prediction_metrics(pred, measured_ms) if table.correction else None,
        "correction": table.correction,
        "correction_fitted_on": correction_fitted_elsewhere(table),  # another CPU's correction (None: this one's)
        "protocol": {
            "passes": PASSES,
            "rounds": ROUNDS,
            "warmup": table.provenance.get("warmup") if warmup is None else warmup,
            "repeats": table.provenance.get("repeats") if repeats is None else repeats,
            "speed_reference_subnets": (table.provenance.get("speed_reference") or {}).get("subnets", 0),
        },
        "subnets": [
            {"config": c.to_dict(), "measured_ms": float(m), "lut_ms": float(lu), "predicted_ms": float(p)}
            for c, m, lu, p in zip(configs, measured_ms, lut, pred, strict=True)
        ],
    }
    return report


@dataclass(frozen=True)
class ValidationRows:
    """A table's validation report: its file, its document as written, and its subnets' configs with their
    measured and predicted end-to-end latencies (ms), row by row."""

    path: Path
    document: dict[str, Any]
    configs: list[SubnetConfig]
    measured_ms: np.ndarray
    predicted_ms: np.ndarray


def read_validation(table_path: str | Path) -> ValidationRows | None:
    """The validation report beside ``table_path`` (``reports/<table>.validation.json``) with its subnets' rows;
    ``None`` where there is none. An unreadable one (no JSON, a row without its fields, a subnet of another
    space) raises :class:`ValueError` naming the fault."""
    path = validation_path(Path(table_path))
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
        rows = document["subnets"]
        configs = [SubnetConfig.from_dict(r["config"]) for r in rows]
        measured = np.array([float(r["measured_ms"]) for r in rows])
        predicted = np.array([float(r["predicted_ms"]) for r in rows])
    except (OSError, ValueError, KeyError, TypeError) as e:  # ValueError: JSON, UTF-8, a subnet of another space
        raise ValueError(f"{type(e).__name__}: {e}") from e
    return ValidationRows(path, document, configs, measured, predicted)


def validated_error(table: LatencyTable, table_path: str | Path) -> dict[str, Any] | None:
    """The end-to-end error of ``table``'s predictions as its validation report (``reports/<table>.validation.json``
    beside ``table_path``) measured it: ``report``, ``date``, ``host_cpu`` (where it was measured: the error
    holds there), ``subnets``, ``mape_pct`` and ``within_10pct``.
    ``None`` where there is no readable report, or its predictions are not ``table``'s (the report of a table
    since re-profiled, rescaled or corrected again measured other predictions than the ones in use)."""
    try:
        rows = read_validation(table_path)
        if rows is None or not rows.configs:
            return None
        if not np.allclose(table.predict(rows.configs), rows.predicted_ms, rtol=1e-9, atol=0):
            return None  # the report measured another table's predictions
        report = rows.document
        error = report["corrected"] or report["lut"]  # the corrected prediction where the table has a correction
        return {
            "report": str(rows.path),
            "date": report.get("date"),
            "host_cpu": report.get("host_cpu"),
            "subnets": len(rows.configs),
            "mape_pct": float(error["mape_pct"]),
            "within_10pct": float(error["within_10pct"]),
        }
    except (ValueError, KeyError, TypeError):  # an unreadable report, or its error metrics
        return None


def validation_phrase(v: dict[str, Any]) -> str:
    """How :func:`validated_error`'s record reads in a message: "1.6% MAPE in the table's validation on 200 subnets
    on <cpu>"."""
    host = f" on {v['host_cpu']}" if v.get("host_cpu") else ""
    return f"{v['mape_pct']:.1f}% MAPE in the table's validation on {v['subnets']} subnets{host}"


def plot(report: dict[str, Any], path: Path) -> None:
    """Predicted-vs-measured scatter with the ±10% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["subnets"]
    m = np.array([r["measured_ms"] for r in rows])
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    lo, hi = 0.9 * m.min(), 1.1 * m.max()
    xs = np.array([lo, hi])
    ax.plot(xs, xs, "k-", lw=1, label="exact")
    ax.fill_between(xs, 0.9 * xs, 1.1 * xs, color="0.85", label="±10%")
    lut = report["lut"]
    ax.scatter(m, [r["lut_ms"] for r in rows], s=10, label=f"LUT sum ({100 * lut['within_10pct']:.0f}% within ±10%)")
    if report["corrected"]:
        c = report["corrected"]
        ax.scatter(m, [r["predicted_ms"] for r in rows], s=10, label=f"corrected ({100 * c['within_10pct']:.0f}%)")
    ax.set_xlabel(f"measured end-to-end latency (ms, median, {report['clock']} clock)")
    ax.set_ylabel("predicted latency (ms)")
    rescaled = "".join(f" · rescaled ×{f:.2f}" for f in report["rescaled_by"])
    ax.set_title(f"{report['device']} · {report['space']} · {len(rows)} random subnets{rescaled}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)


def metric_row(name: str, m: dict[str, float]) -> str:
    """One Markdown table row: within ±10%, MAPE, bias, worst error, Kendall τ."""
    return (
        f"| {name} | {100 * m['within_10pct']:.1f}% | {m['mape_pct']:.2f}% | {m['bias_pct']:+.2f}% | "
        f"{m['max_abs_err_pct']:.1f}% | {m['kendall_tau']:.3f} |"
    )


def _protocol_line(p: dict[str, Any] | None) -> str:
    if not p:
        return ""
    ref = p["speed_reference_subnets"]
    at = f", at the baseline speed of a {ref}-subnet speed reference" if ref else ""
    return (
        f"- measured: each subnet the mean over {p['passes']} passes of the median of {p['repeats']} runs "
        f"taken in {p['rounds']} rounds{at}"
    )


def summary_markdown(report: dict[str, Any], png_rel: str, command: str) -> str:
    """The docs/ page for one validation run."""
    lines = [
        f"# Latency validation: {report['device']} ({report['space']})",
        "",
        f"- date: {report['date']}; table kind: {report['kind']}; backend: {report['backend']}"
        + "".join(f"; rescaled ×{f:.3f} (`--rescale`)" for f in report["rescaled_by"]),
        f"- host CPU: {report['host_cpu']}; clock: {report['clock']} (median of repeats); seed: {report['seed']}",
        f"- command: `{command}`",
        _protocol_line(report.get("protocol")),
        "",
        "| prediction | within ±10% | MAPE | bias | worst | Kendall τ |",
        "|---|---|---|---|---|---|",
        metric_row("LUT sum", report["lut"]),
    ]
    if report["corrected"]:
        lines.append(metric_row("corrected", report["corrected"]))
        c = report["correction"]
        lines += [
            "",
            (
                f"Correction (fitted on {c['fitted_on']} other random subnets{fitted_elsewhere_note(report.get('correction_fitted_on'), 'the CPU validated here')}): "
                f"e2e ≈ {c['scale']:.3f} · LUT + {c.get('per_block', 0.0):.4f} ms · blocks"
                f" + {c.get('per_mparam', 0.0):.4f} ms · (M params) + {c['offset']:.3f} ms."
            ),
        ]
    lines += ["", f"![predicted vs measured]({png_rel})", ""]
    return "\n".join(lines)


def write_reports(report: dict[str, Any], table_path: Path, docs_dir: Path | None, command: str) -> dict[str, str]:
    """Save the JSON and PNG next to the table and the summary in ``docs_dir``, with its own copy of the plot
    beside it (a link out of the folder breaks once the folder is copied, installed or published); returns the
    paths."""
    json_path, png_path = validation_path(table_path), validation_path(table_path, ".png")
    atomic_write_json(json_path, report)
    plot(report, png_path)
    paths = {"report": str(json_path), "plot": str(png_path)}
    if docs_dir is not None:
        md = docs_dir / f"latency-validation-{table_path.stem}.md"
        page_plot = md.with_suffix(".png")
        atomic_write(page_plot, lambda tmp: shutil.copyfile(png_path, tmp))
        atomic_write_text(md, summary_markdown(report, page_plot.name, command))
        paths |= {"summary": str(md), "summary_plot": str(page_plot)}
    return paths
