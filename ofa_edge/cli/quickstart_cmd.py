"""``ofa-edge quickstart``: search -> export -> inference on test images, with the embedded defaults.

Only wiring: it calls the ``search`` and ``export`` commands as they are, then runs the
exported ONNX model on a few CIFAR-10 test images with ONNX Runtime and prints what it did.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, data_arg, data_help, emit, note, out, warn
from ofa_edge.cli.export_cmd import export
from ofa_edge.cli.search_cmd import search
from ofa_edge.errors import Interrupted, UserError
from ofa_edge.export.bundle import check_output_dir
from ofa_edge.io import refuse_file
from ofa_edge.latency.devices import LOCAL_DEVICE
from ofa_edge.latency.table import LatencyTable, UnusableTable, table_for_device
from ofa_edge.paths import embedded_supernet, work_dir
from ofa_edge.space.search_space import SearchSpace
from ofa_edge.units import check_range, parse_latency_ms

DEMO_BN_IMAGES = 500  # quickstart's export recalibrates BN on fewer images than export's default: it is a demo


def _local_table() -> tuple[LatencyTable, list[str]]:
    """This machine's table and the ``--table`` search needs for it: none where yours (or the shipped one) loads,
    the shipped one where yours does not (an interrupted profile), said."""
    try:
        return table_for_device(LOCAL_DEVICE)[0], []
    except UnusableTable as e:  # table_for_device decides when the shipped one stands in
        warn(f"{e} quickstart goes on with the shipped one.")
        return LatencyTable.load(e.stand_in), [str(e.stand_in)]


def _default_budget(table: LatencyTable) -> str:
    """Halfway between the table's min and max subnets: a budget that always has room."""
    space = SearchSpace.get(table.space)
    lo, hi = table.predict([space.min(), space.max()])
    return f"{(lo + hi) / 2:.3f}ms"


def _step(command: Callable[..., None], as_json: bool, **options: Any) -> dict[str, Any] | None:
    """Run another command: its human output as usual, or, under --json, its JSON document
    captured (stdout must carry one document only)."""
    if not as_json:
        command(**options, as_json=False)
        return None
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        command(**options, as_json=True)
    return json.loads(buf.getvalue())


def quickstart(
    latency: Annotated[
        str | None,
        typer.Option(
            metavar="TIME", help="Latency budget, e.g. 15ms (default: halfway between the min and max subnet)."
        ),
    ] = None,
    images: Annotated[int, typer.Option(help="Test images to classify with the exported model (1-10000).")] = 8,
    data: Annotated[
        Path | None,
        typer.Option(
            help=data_help("to classify, and to recalibrate BN on", shipped_sample=True),
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the search and the bundle.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the embedded supernet under a budget on this CPU, export the subnet, classify test images."""
    # here, not at the top: `ofa-edge quickstart --help` needs none of torch and ONNX Runtime
    from ofa_edge.data.datasets import load_dataset
    from ofa_edge.data.transforms import Preprocess
    from ofa_edge.onnx_bridge import ort_session, run_session
    from ofa_edge.supernet.metadata import read_metadata, trained_on

    check_range("--images", images, ge=1, le=10000)
    out_dir = out_dir or work_dir() / "quickstart"
    refuse_file(out_dir, "the search and the bundle")
    table, tables = _local_table()
    if latency is None:
        latency = _default_budget(table)
        note(f"no --latency: budget {latency} on {LOCAL_DEVICE} (halfway between the smallest and largest subnet)")
    parse_latency_ms(latency)
    bundle = check_output_dir(out_dir / "bundle")  # before the search: a refused run changes nothing
    meta = read_metadata(embedded_supernet())
    learned = trained_on(meta).classes
    data = data_arg(data, learned, {"--images": images, "export's --bn-images": DEMO_BN_IMAGES})
    size = max(SearchSpace.get(meta["space"]).resolutions)  # ImageFolder images are decoded at this size
    test = load_dataset(data, "test", limit=images, seed=1, size=size, balanced=False)
    if learned and test.classes != learned:
        raise UserError(
            f"'{data}' names other classes than the embedded supernet was trained on ({', '.join(learned[:3])}, "
            "...); quickstart classifies images of that task (CIFAR-10): drop --data, or pass a copy of CIFAR-10."
        )
    given = "".join(f" --table {t}" for t in tables)
    note(f"step 1/3: ofa-edge search --latency {latency} --device {LOCAL_DEVICE}{given} --out {out_dir / 'search'}")
    try:
        found = _step(
            search, as_json, latency=[latency], device=[LOCAL_DEVICE], table=tables, out_dir=str(out_dir / "search")
        )
    except Interrupted:
        raise
    except KeyboardInterrupt:  # the CLI's own line is about resuming long jobs, which quickstart is not
        raise Interrupted(
            f"interrupted during the search; it writes its files together, so '{out_dir / 'search'}' is as it was. "
            "Running the same command again starts the quickstart afresh."
        ) from None
    subnet = out_dir / "search" / "subnet.json"  # this run's search, not the work dir's last one
    note(
        f"step 2/3: ofa-edge export --format onnx --subnet {subnet} --bn-images {DEMO_BN_IMAGES} --data {data} --out {bundle}"
    )
    exported = _step(export, as_json, format="onnx", subnet=subnet, out_dir=bundle, bn_images=DEMO_BN_IMAGES, data=data)

    note(f"step 3/3: classifying {images} test images with {bundle / 'model.onnx'} on ONNX Runtime")
    prep = Preprocess.from_dict(json.loads((bundle / "preprocessing.json").read_text()))
    classes = (bundle / "classes.txt").read_text().splitlines()
    x = prep(test.images)
    logits = run_session(ort_session(bundle / "model.onnx", 1), x, 1)
    pred = logits.argmax(1)
    rows = [
        {"image": i, "label": classes[int(y)], "predicted": classes[int(p)], "correct": bool(p == y)}
        for i, (y, p) in enumerate(zip(test.labels.tolist(), pred.tolist(), strict=True))
    ]
    result = {
        "search": found or str(out_dir / "search"),
        "bundle": exported or str(bundle),
        "latency_budget": latency,
        "device": LOCAL_DEVICE,
        "predictions": rows,
        "top1": 100.0 * float(np.mean([r["correct"] for r in rows])),
    }

    def render() -> None:
        t = Table(title=f"the bundle's model.onnx on {images} CIFAR-10 test images")
        for col in ("image", "label", "predicted", ""):
            t.add_column(col)
        for r in rows:
            t.add_row(
                str(r["image"]), r["label"], r["predicted"], "[green]✓[/green]" if r["correct"] else "[red]✗[/red]"
            )
        out.print(t)
        out.print(f"top-1 on these {images} images: {result['top1']:.0f}%")
        out.print(f"bundle: {bundle}", soft_wrap=True)

    emit(result, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)
