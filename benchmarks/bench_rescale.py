"""Does one speed factor carry a latency table to another machine? (issue 4)

Run ``ofa-edge profile --device D --force --calibrate 100 --validate 200 -o HERE.json`` on the
new machine first. This script reads that run's end-to-end timings (``reports/HERE.e2e.json``,
on HERE's speed-reference scale) and scores, on the same 200 validation subnets:

* ``as is``: the other machine's table (``--table``) unchanged;
* ``rescaled``: that table times one factor, as ``ofa-edge profile --rescale`` writes it. The
  factor is what ``--check`` would read at HERE's profile: the median over the five shared
  speed-reference subnets of HERE's baseline / the table's baseline;
* ``rescaled + calibrated``: its blocks rescaled, its correction refitted on HERE's 100
  calibration subnets (``--rescale`` then ``--calibrate 100``: no block profile);
* ``measured here``: HERE's own table and correction (a full profile).

    python benchmarks/bench_rescale.py --table ofa_edge/latency_tables/x86-cpu.json --here /tmp/here/x86-cpu.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ofa_edge.host import CPU_FIELDS
from ofa_edge.latency.blocks import random_subnets
from ofa_edge.latency.calibrate import CALIBRATE_SEED_OFFSET, calibrate_table
from ofa_edge.latency.drift import rescale
from ofa_edge.latency.e2e import e2e_path
from ofa_edge.latency.stats import prediction_metrics
from ofa_edge.latency.table import LatencyTable
from ofa_edge.latency.validate import metric_row


def _measured(here: Path, cfgs: list) -> np.ndarray:
    entries = json.loads(e2e_path(here).read_text())["entries"]
    return np.array([entries[c.to_json()]["median"] for c in cfgs])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", type=Path, required=True, help="table measured on another machine")
    ap.add_argument("--here", type=Path, required=True, help="table profiled here with --calibrate/--validate")
    ap.add_argument("--calibrate", type=int, default=100)
    ap.add_argument("--validate", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()

    other, here = LatencyTable.load(args.table), LatencyTable.load(args.here)
    sp = here.search_space
    cal = random_subnets(sp.name, here.resolutions, args.calibrate, args.seed + CALIBRATE_SEED_OFFSET)
    val = random_subnets(sp.name, here.resolutions, args.validate, args.seed)
    cal_ms, val_ms = _measured(args.here, cal), _measured(args.here, val)
    ratios = (
        np.array(here.provenance["speed_reference"]["baseline_ms"]) / other.provenance["speed_reference"]["baseline_ms"]
    )
    factor = float(np.median(ratios))
    scaled = rescale(other, {"factor": factor, "readings": ratios.tolist()})
    refit = LatencyTable.from_dict(scaled.to_dict())
    calibrate_table(refit, cal, cal_ms)
    rows = {
        "as is": other.predict(val),
        "rescaled": scaled.predict(val),
        "rescaled + calibrated": refit.predict(val),
        "measured here": here.predict(val),
    }
    result = {
        "table": str(args.table),
        **{
            name: {k: t.provenance.get(k) for k in (*CPU_FIELDS, "date", "backend_version")}
            for name, t in (("table_host", other), ("here_host", here))
        },
        "factor": factor,
        "reference_ratios": ratios.tolist(),
        "block_ratio_median_p5_p95": np.percentile(
            [here.entries[k]["median"] / other.entries[k]["median"] for k in here.entries], [50, 5, 95]
        ).tolist(),
        "validation_subnets": len(val),
        "metrics": {name: prediction_metrics(pred, val_ms) for name, pred in rows.items()},
    }
    print("| prediction | within ±10% | MAPE | bias | worst | Kendall τ |\n|---|---|---|---|---|---|")
    for name, m in result["metrics"].items():
        print(metric_row(name, m))
    print(f"factor {factor:.3f} (reference ratios {np.round(ratios, 3).tolist()})")
    print(f"block ratio here/table, median (p5, p95): {np.round(result['block_ratio_median_p5_p95'], 3).tolist()}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
