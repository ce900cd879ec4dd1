"""The bundle's README.md: what is in the folder and the commands to run it."""

from __future__ import annotations

from typing import Any

_FILES = {
    "model.onnx": "FP32 ONNX, verified against PyTorch on ONNX Runtime",
    "model_fp16.onnx": "FP16 ONNX (FP32 inputs/outputs), verified within 2% of the largest logit",
    "model_int8.onnx": "INT8 QDQ ONNX (static quantization, calibrated on training images)",
    "model.ort": "ONNX Runtime ORT-format model (optimised, portable to ARM)",
    "model_int8.ort": "ONNX Runtime ORT-format INT8 model",
    "model.engine": "TensorRT engine (runs only on the GPU and TensorRT version that built it)",
    "build_engine.py": "builds model.engine on the target with the TensorRT Python API (10 or 11)",
    "check_latency.py": "times model.engine at batch 1 and compares it with reference.npz",
    "trtexec.sh": "the same build with trtexec, then trtexec's latency run",
    "reference.npz": "a few preprocessed test images and the PyTorch FP32 logits for them",
    "subnet.json": "the subnet (ofa-edge format; `ofa-edge export --subnet subnet.json` reproduces this bundle)",
    "preprocessing.json": "input resolution, mean, std, layout",
    "classes.txt": "class names in output order",
    "README.md": "this file",
    "bundle.json": "manifest: provenance, verification, INT8 and TensorRT reports, file checksums",
}


def render_readme(manifest: dict[str, Any], pre: dict[str, Any], names: list[str]) -> str:
    """Markdown for the bundle folder described by ``manifest`` holding the files ``names``."""
    primary, res, pruned = manifest["primary"], pre["resolution"], manifest.get("pruned_from")
    what = "Pruned from subnet" if pruned else "Subnet"
    lines = [
        f"# ofa-edge bundle: {manifest['subnet']['space']} subnet at {res} px",
        "",
        (
            f"{what} `{manifest['subnet_summary']}`: {manifest['macs'] / 1e6:.1f}M MACs, "
            f"{manifest['params'] / 1e6:.2f}M params, {manifest['num_classes']} classes. Created {manifest['created']} "
            f"by ofa-edge {manifest['versions']['ofa_edge']}. Deploy file: `{primary}`."
        ),
        "",
        "## Files",
        "",
    ]
    files = _FILES | (
        {
            "subnet.json": f"the unpruned subnet the network was pruned from (`ofa-edge export --slim {pruned}` reproduces this bundle)"
        }
        if pruned
        else {}
    )
    lines += [f"- `{n}`: {files[n]}" for n in names]
    lines += [
        "",
        "## Preprocessing",
        "",
        (
            f"RGB, resize to {res}x{res} (bilinear with antialiasing, as PIL's BILINEAR), `x = (pixel/255 - mean) / std` with mean {pre['mean']} and "
            f"std {pre['std']}, layout NCHW float32, input `{pre['input_name']}`, output `{pre['output_name']}` (logits)."
        ),
        "",
        "## Run with ONNX Runtime",
        "",
        "```python",
        "import json, numpy as np, onnxruntime as ort",
        f"sess = ort.InferenceSession('{primary if not primary.endswith('.engine') else 'model.onnx'}')",
        "ref = np.load('reference.npz')",
        f"logits = sess.run(None, {{'{pre['input_name']}': ref['inputs'][:1]}})[0]",
        "classes = open('classes.txt').read().splitlines()",
        "print(classes[int(logits.argmax())], np.abs(logits - ref['logits'][:1]).max())",
        "```",
    ]
    trt = manifest["tensorrt"]
    if trt:
        state = "built here" if trt["engine_built"] else "NOT built here: " + trt["engine_missing_reason"]
        lines += [
            "",
            f"## TensorRT ({trt['precision']}; engine {state})",
            "",
            "On the target (Jetson, GPU server), in this folder:",
            "",
            "```sh",
            f"{trt['build_script']}      # TensorRT Python API, picks the 10.x or 11.x path itself",
            "python check_latency.py          # batch-1 latency + agreement with reference.npz (needs pycuda)",
            "```",
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
        p = manifest["predicted"]
        lines += ["", "## Predicted by the search", "", "```json", _json(p), "```"]
    return "\n".join(lines) + "\n"


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, default=str)
