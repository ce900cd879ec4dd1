"""The bundle's README.md: what is in the folder and the commands to run it."""

from __future__ import annotations

from typing import Any

_FILES = {
    "model.onnx": "FP32 ONNX, verified against PyTorch on ONNX Runtime",
    "model_fp16.onnx": "FP16 ONNX (FP32 inputs/outputs), verified within 2% of the largest logit",
    "model_int8.onnx": "INT8 QDQ ONNX (static quantization, calibrated on training images)",
    "model.ort": "ONNX Runtime ORT-format model (optimised, portable to ARM; on x86 CPUs run model.onnx, see below)",
    "model_int8.ort": "ONNX Runtime ORT-format INT8 model",
    "model.engine": "TensorRT engine (runs only on the GPU and TensorRT version that built it)",
    "build_engine.py": "builds model.engine on the target with the TensorRT Python API (10 or 11)",
    "check_latency.py": "times model.engine at batch 1 and compares it with reference.npz",
    "trtexec.sh": "the same build with trtexec, then trtexec's latency run",
    "reference.npz": "a few preprocessed test images and the PyTorch FP32 logits for them",
    "subnet.json": "the subnet (ofa-edge format)",
    "preprocessing.json": "how an image becomes the input: crop, mean, std, resize, layout (the steps below)",
    "preprocess.py": "preprocessing.json as code (numpy + Pillow): `preprocess(Image.open(path), pre)`",
    "classes.txt": "class names in output order",
    "README.md": "this file",
    "bundle.json": "manifest: provenance, verification, INT8 and TensorRT reports, file checksums",
}


def render_readme(manifest: dict[str, Any], pre: dict[str, Any], names: list[str]) -> str:
    """Markdown for the bundle folder described by ``manifest`` holding the files ``names``."""
    primary, res, pruned = manifest["primary"], pre["resolution"], manifest.get("pruned_from")
    what = "Pruned from subnet" if pruned else "Subnet"
    trt = manifest.get("tensorrt")
    absent = (
        ", which is not built here: build it on the target (TensorRT below)" if trt and not trt["engine_built"] else ""
    )
    lines = [
        f"# ofa-edge bundle: {manifest['subnet']['space']} subnet at {res} px",
        "",
        (
            f"{what} `{manifest['subnet_summary']}`: {manifest['macs'] / 1e6:.1f}M MACs, "
            f"{manifest['params'] / 1e6:.2f}M params, {manifest['num_classes']} classes. Created {manifest['created']} "
            f"by ofa-edge {manifest['versions']['ofa_edge']}. Deploy file: `{primary}`{absent}."
        ),
        "",
        "## Files",
        "",
    ]
    files = _FILES | ({"subnet.json": "the unpruned subnet the network was pruned from"} if pruned else {})
    lines += [f"- `{n}`: {files[n]}" for n in names]
    lines += ["", f"`{manifest['export_command']}` in this folder makes this bundle again."]
    lines += [
        "",
        "## Preprocessing",
        "",
        (
            "The model was trained, recalibrated and verified on images prepared so (`preprocessing.json`; "
            "`preprocess.py` does it):"
        ),
        "",
        *[f"{i}. {s}" for i, s in enumerate(pre["steps"], 1)],
        "",
        (
            f"mean {pre['mean']}, std {pre['std']}; input `{pre['input_name']}`, output `{pre['output_name']}` "
            "(class scores, in the order of classes.txt)."
        ),
        "",
        "## Run with ONNX Runtime",
        "",
        "In this folder (`image.jpg`: your image, any size):",
        "",
        "```python",
        "import json, numpy as np, onnxruntime as ort",
        "from PIL import Image",
        "from preprocess import preprocess",
        "",
        f"sess = ort.InferenceSession('{primary if not primary.endswith('.engine') else 'model.onnx'}')",
        "x = preprocess(Image.open('image.jpg'), json.load(open('preprocessing.json')))",
        f"logits = sess.run(None, {{'{pre['input_name']}': x}})[0]",
        "print(open('classes.txt').read().splitlines()[int(logits.argmax())])",
        "ref = np.load('reference.npz')  # test images as ofa-edge prepared them, and PyTorch's logits for them",
        f"print(np.abs(sess.run(None, {{'{pre['input_name']}': ref['inputs'][:1]}})[0] - ref['logits'][:1]).max())",
        "```",
        *_which_file(manifest),
        *_providers((manifest["predicted"] or {}).get("devices") or {}),
    ]
    trt = manifest["tensorrt"]
    if trt:
        state = "built here" if trt["engine_built"] else "NOT built here: " + trt["engine_missing_reason"]
        lines += [
            "",
            f"## TensorRT ({trt['precision']}; engine {state})",
            "",
            _precision_from(trt["precision"], trt["precision_from"]),
            "",
            "On the target (Jetson, GPU server), in this folder:",
            "",
            "```sh",
            f"{trt['build_script']}      # TensorRT Python API, picks the 10.x or 11.x path itself",
            "python check_latency.py          # batch-1 latency + agreement with reference.npz",
            "```",
            "",
            (
                "`build_engine.py` needs TensorRT's Python package (JetPack's python3-libnvinfer on a Jetson, "
                "`pip install tensorrt` elsewhere); `check_latency.py` also needs pycuda (`pip install pycuda`, "
                "which compiles against the CUDA toolkit: JetPack has it). trtexec needs neither Python package."
            ),
            "",
            "or with trtexec (`sh trtexec.sh` chooses by version):",
            "",
            "```sh",
            f"{trt['trtexec']['tensorrt10']}   # TensorRT 10 (precision flags)",
            f"{trt['trtexec']['tensorrt11']}   # TensorRT 11 (strongly typed: precision is in the ONNX)",
            f"{trt['trtexec_latency']}",
            "```",
        ]
        if trt.get("sparse_weights"):
            n = len(trt["sparse_weights"]["layers"])
            lines += [
                "",
                (
                    f"{n} layers hold 2:4 structured-sparse weights (SpFDE), so the commands above let TensorRT "
                    "run them on sparse tensor cores (Ampere and newer: Jetson Orin, A100, H100)."
                ),
            ]
    if manifest["int8"]:
        q = manifest["int8"]
        lines += [
            "",
            "## INT8",
            "",
            (
                f"Top-1 on {q['eval_images']} test images: FP32 {q['top1_fp32']:.2f}%, "
                f"INT8 {q['top1_int8']:.2f}% ({q['top1_change_points']:+.2f} points). CPU batch-1 latency "
                f"(ONNX Runtime, {q['threads']} thread(s)): {q['cpu_latency_ms_fp32']:.2f} ms -> "
                f"{q['cpu_latency_ms_int8']:.2f} ms."
            ),
        ]
    if manifest["predicted"]:
        lines += _predicted(manifest["predicted"])
    if manifest.get("pruning"):
        lines += _pruning(manifest["pruning"])
    return "\n".join(lines) + "\n"


def _pruning(p: dict[str, Any]) -> list[str]:
    """What `ofa-edge prune` measured for the network: top-1 before and after, and its latency table's prediction."""
    lat = p["latency"]
    latency = (
        f" Predicted on {lat['device']}: {lat['subnet_ms']:.3f} ms -> {lat['pruned_ms']:.3f} ms"
        + (f" (measured there: {lat['pruned_measured_ms']:.3f} ms)." if "pruned_measured_ms" in lat else ".")
        if lat
        else ""
    )
    return [
        "",
        "## Pruning",
        "",
        (
            f"`ofa-edge prune --method {p['method']}` removed {p['group_sparsity']:.1%} of the zero-invariant groups "
            f"(target {p['target_sparsity']:g}). Top-1 on {p['test_images']} {p['test_split']} images of `{p['data']}`: "
            f"{p['top1_unpruned']:.2f}% before pruning, {p['top1']:.2f}% after (this model).{latency} "
            "`bundle.json` → `pruning`."
        ),
    ]


def _which_file(manifest: dict[str, Any]) -> list[str]:
    """For an ORT-format bundle: which file to run on ARM and which on x86."""
    if manifest["format"] != "ort":
        return []
    measured = (
        " (model.ort ran 3.6-4.3x slower than model.onnx for a CIFAR subnet on an AMD EPYC VM, ONNX Runtime 1.32, "
        "1 thread; `ofa-edge docs export`)"
        if manifest["primary"] == "model.ort"
        else ""
    )
    return [
        "",
        (
            f"`{manifest['primary']}` is for ARM CPUs (phones, Raspberry Pi) and minimal ONNX Runtime builds: it is saved "
            "without ONNX Runtime's x86-only NCHWc layout transform, so that it runs there. On an x86 CPU run "
            f"`model.onnx` instead, which ONNX Runtime optimises for x86 as it loads it{measured}."
        ),
    ]


def _providers(devices: dict[str, dict[str, Any]]) -> list[str]:
    """The execution provider and threads each searched ONNX Runtime device's latency table assumes."""
    from ofa_edge.latency.backends.onnxruntime_backend import PROVIDERS

    assumed = []
    for name, d in devices.items():
        table = d["latency_table"]
        if table.get("runtime") == "onnxruntime":
            provider = PROVIDERS.get(table.get("provider") or "cpu", table.get("provider"))
            threads = table.get("threads", 1)
            assumed.append(f"- {name} ({d['kind']} table): `{provider}`, {threads} thread{'s' * (threads != 1)}")
    if not assumed:
        return []
    return [
        "",
        "The snippet runs on ONNX Runtime's default provider and threads. The search's latencies assume:",
        "",
        *assumed,
        "",
        (
            "Set them with `so = ort.SessionOptions(); so.intra_op_num_threads = N` and "
            "`ort.InferenceSession(path, so, providers=[...])`; XNNPACK takes its threads as "
            "`('XnnpackExecutionProvider', {'intra_op_num_threads': N})` and needs an ONNX Runtime build with it "
            "(the Android and iOS packages)."
        ),
    ]


def _predicted(p: dict[str, Any]) -> list[str]:
    """The search's predictions: each device's latency with its table's kind and budget, and the accuracy."""
    lines = ["", "## Predicted by the search", ""]
    devices = p.get("devices") or {}
    if devices:
        lines += ["| device | predicted latency | latency table | budget |", "|---|---:|---|---:|"]
        for name, d in devices.items():
            kind = "**estimated**, not measured" if d["kind"] == "estimated" else d["kind"]
            budget = f"{d['budget_ms']:g} ms" if d.get("budget_ms") is not None else "-"
            lines.append(f"| {name} | {d['latency_ms']:.3f} ms | {kind} | {budget} |")
        lines.append("")
    if "accuracy" in p:
        lines += [f"Accuracy {p['accuracy']:.2f}: the {p['accuracy_note']}.", ""]
    lines.append("The tables' provenance and every predicted value: `bundle.json` → `predicted`.")
    return lines


def _precision_from(precision: str, source: dict[str, Any]) -> str:
    """Which searched device's table the engine's precision followed, or the option that chose it instead."""
    device, table = source["device"], source["precision"]
    searched = f"{device}'s latency table, which the search predicted with, is for {table}" if table else ""
    if source["chosen_by"] == "table":
        return f"Precision {precision}: it follows the search: {searched}."
    if source["chosen_by"] == "default":
        return f"Precision {precision}: the default, with no searched latency table to follow."
    chose = f"Precision {precision}: chosen with `{source['chosen_by']}`"
    return f"{chose}; {searched}." if table else f"{chose}."
