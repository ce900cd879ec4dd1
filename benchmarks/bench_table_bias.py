"""Is a CPU latency table on the real latency's scale here? (issue 4)

Two measurements on this machine, with the device's backend:

1. ``ratio``: the steady (warm) latency of random subnets, timed plainly (``--warmup`` untimed
   calls, median of ``--repeats``), over the table's prediction of them. A table profiled here
   just before should give about 1.0; before the speed reference warmed its readings up
   (``drift.SWITCH_WARMUP``) one Intel Xeon VM gave 1.13.
2. ``switch``: each call's latency after switching from another network, over the warm latency,
   for the table's speed-reference subnets (calls 1..8; median over subnets and rounds): how many
   untimed calls a reading needs.

    python benchmarks/bench_table_bias.py --table ofa_edge/latency_tables/x86-cpu.json [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ofa_edge.host import host_info, now_utc
from ofa_edge.latency.backends import require_backend
from ofa_edge.latency.blocks import build_subnet, random_subnets
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.drift import SEED
from ofa_edge.latency.table import LatencyTable


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", type=Path, required=True)
    p.add_argument("--subnets", type=int, default=12)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--rounds", type=int, default=12, help="switch measurement: rounds over the reference subnets")
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--json", type=Path)
    args = p.parse_args()

    table = LatencyTable.load(args.table)
    backend = require_backend(load_device(table.provenance["device"]), table.provenance.get("threads"))
    shape = lambda c: (table.provenance.get("batch", 1), 3, c.resolution, c.resolution)
    cfgs = random_subnets(table.space, table.resolutions, args.subnets, args.seed)
    warm = np.array(
        [
            np.median(backend.prepare(build_subnet(c, table.num_classes), shape(c))(args.warmup, args.repeats))
            for c in cfgs
        ]
    )
    ratio = warm / table.predict(cfgs)

    refs = random_subnets(table.space, table.resolutions, 5, SEED)
    timers = [backend.prepare(build_subnet(c, table.num_classes), shape(c)) for c in refs]
    steady = np.array([np.median(t(args.warmup, args.repeats)) for t in timers])
    calls = [t(0, 8) / s for _ in range(args.rounds) for t, s in zip(timers, steady, strict=True)]
    switch = np.median(np.array(calls), axis=0)

    result = {
        "date": now_utc(),
        "host": host_info(),
        "table": str(args.table),
        "table_date": table.provenance.get("date"),
        "reference_warmup": table.provenance.get("speed_reference", {}).get("warmup", 1),
        "ratio_median": float(np.median(ratio)),
        "ratio": ratio.round(4).tolist(),
        "switch": switch.round(4).tolist(),
    }
    print(f"real warm latency / table prediction, {args.subnets} random subnets: median {np.median(ratio):.3f} "
          f"(range {ratio.min():.3f}-{ratio.max():.3f})")  # fmt: skip
    print("calls 1-8 after switching networks / warm latency:", " ".join(f"{x:.2f}" for x in switch))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
