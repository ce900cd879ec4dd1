"""``ofa-edge export`` end to end on real checkpoints, real CIFAR-10 and ONNX Runtime."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from ofa_edge import SearchSpace, Supernet, save_supernet
from ofa_edge.data.sample import sample_classes
from ofa_edge.export.bundle import default_bundle_name
from ofa_edge.export.tensorrt_build import bundle_defaults, tensorrt_status
from ofa_edge.io import file_sha256
from ofa_edge.onnx_bridge import ort_session
from ofa_edge.space import CostModel
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH

CIFAR = "mbv3-w1.0-cifar"
FAST = ["--bn-images", "200"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "cifar.safetensors"
    save_supernet(Supernet(SearchSpace.get(CIFAR), 10), path)
    return path


@pytest.fixture()
def subnet(tmp_path):
    path = tmp_path / "subnet.json"
    SearchSpace.get(CIFAR).min(28).save(path)
    return path


@pytest.fixture()
def export(cli, ckpt, subnet, tmp_path, data_root):
    """``ofa-edge export *args`` of ``subnet`` from ``ckpt`` into ``tmp_path/b`` on the test data."""

    def run(*args: str) -> tuple[int, str, str]:
        common = ["--subnet", str(subnet), "--supernet", str(ckpt), "--out", str(tmp_path / "b")]
        return _run(cli, "export", *args, *common, "--data", str(data_root), *FAST)

    return run


def _doc(out: str) -> dict:
    return json.loads(out)


def _run(cli, *args: str) -> tuple[int, str, str]:
    """``cli`` with rich's line wrapping of stderr undone."""
    code, out, err = cli(*args)
    return code, out, " ".join(err.split())


def test_an_int8_cpu_bundle_says_when_int8_does_not_pay_here(export, tmp_path):
    code, out, err = export("--int8", "--int8-calib-images", "16", "--int8-eval-images", "50")
    assert code == 0, err
    q = json.loads((tmp_path / "b" / "bundle.json").read_text())["int8"]
    flat = " ".join(out.split())
    assert "model_int8.onnx (deploy)" in flat and f"CPU latency {q['cpu_latency_ms_fp32']:.2f}" in flat
    assert f"(ONNX Runtime, {q['threads']} thread(s), wall-clock median, batch 1" in flat
    assert ("for x86 CPUs ship model.onnx" in flat) == (q["cpu_speedup"] < 1.1)


def test_an_int8_bundle_in_an_older_opset_on_few_calibration_images(export, tmp_path):
    """The opset was fixed at 17; one calibration image ran without a word; the verification line gave neither the
    images nor the batches it checked."""
    code, out, err = export("--int8", "--int8-calib-images", "4", "--int8-eval-images", "20", "--opset", "13")
    assert code == 0, err
    assert "warning: --int8-calib-images 4: min-max calibration" in err and "Use 8 or more (default 256)" in err
    b = tmp_path / "b"
    doc = json.loads((b / "bundle.json").read_text())
    assert doc["opset"] == 13 and doc["export_command"].endswith(
        "--int8-calib-images 4 --int8-eval-images 20 --opset 13"
    )
    for name in ("model.onnx", "model_int8.onnx"):
        assert [o.version for o in onnx.load(b / name).opset_import if o.domain in ("", "ai.onnx")] == [13]
    flat = " ".join(out.split())
    assert (
        f"bundle: {b} (ONNX opset 13, exported in " in flat and "export_seconds" not in doc
    )  # --json's, not the file's
    assert "verified model.onnx against PyTorch on ONNX Runtime: max |diff| " in flat
    assert "(FP32 bound), 8 test images at batch 1" in flat


def test_onnx_bundle(export, subnet, tmp_path):
    code, out, err = export("--json")
    assert code == 0, err
    doc = _doc(out)
    b = tmp_path / "b"
    assert doc["primary"] == "model.onnx" and doc["format"] == "onnx"
    assert {
        "model.onnx",
        "subnet.json",
        "preprocessing.json",
        "classes.txt",
        "README.md",
        "bundle.json",
        "reference.npz",
    } <= {p.name for p in b.iterdir()}
    assert doc["verification"][0]["max_abs_diff"] <= 1e-4
    pre = json.loads((b / "preprocessing.json").read_text())
    space = SearchSpace.get(CIFAR)
    assert pre["resolution"] == 28 and pre["mean"] == list(space.mean) and pre["std"] == list(space.std)
    assert (b / "classes.txt").read_text().split()[:2] == ["airplane", "automobile"]
    assert json.loads((b / "subnet.json").read_text()) == space.min(28).to_dict()
    ref = np.load(b / "reference.npz")
    got = ort_session(b / "model.onnx").run(None, {"input": ref["inputs"][:1]})[0]
    assert np.abs(got - ref["logits"][:1]).max() <= 1e-4
    assert "BN recalibration on 200 train images" in err  # defaults and choices are printed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert doc["bn_recalibration"]["from_cache"] is False and doc["bn_recalibration"]["batch"] == BN_CALIB_BATCH
    # exporting it again (another format, say) takes the BN statistics from the cache: the same model
    first = (b / "model.onnx").read_bytes()
    code, out, err = export("--json")
    assert code == 0 and _doc(out)["bn_recalibration"]["from_cache"] is True and "from the cache" in err, err
    assert (b / "model.onnx").read_bytes() == first
    assert f"replacing the bundle in {b}" in err and "of another subnet" not in err
    SearchSpace.get(CIFAR).min(24).save(subnet)  # another subnet into the same folder: said
    code, _, err = export()
    assert code == 0 and f"replacing the bundle in {b} (of another subnet)" in err, err


def test_ort_format_runs(export, tmp_path):
    code, out, err = export("--format", "onnxruntime", "--dynamic-batch", "--json")
    assert code == 0, err
    doc = _doc(out)
    assert doc["primary"] == "model.ort"
    assert [v["model"] for v in doc["verification"]] == ["model.onnx", "model.ort"]
    ref = np.load(tmp_path / "b" / "reference.npz")
    got = ort_session(tmp_path / "b" / "model.ort").run(None, {"input": ref["inputs"]})[0]  # whole batch: dynamic
    assert np.abs(got - ref["logits"]).max() <= 1e-4


def test_trt_bundle_of_a_two_four_sparse_supernet(cli, subnet, tmp_path, data_root):
    from ofa_edge.train.spfde.sparsity import SparseMasks, SparsityConfig

    torch.manual_seed(0)
    net = Supernet(SearchSpace.get(CIFAR), 10)
    SparseMasks(
        net, SparsityConfig(0.5, pattern="2:4")
    )  # what `ofa-edge train --sparsity 0.5 --sparsity-pattern 2:4` leaves
    save_supernet(net, tmp_path / "sparse.safetensors")
    code, out, err = _run(
        cli, "export", "--format", "trt", "--subnet", str(subnet), "--supernet", str(tmp_path / "sparse.safetensors"),
        "--out", str(tmp_path / "b"), "--data", str(data_root), *FAST, "--json",
    )  # fmt: skip
    assert code == 0, err
    trt = _doc(out)["tensorrt"]
    assert trt["sparse_weights"]["pattern"] == "2:4" and "head.mix" in trt["sparse_weights"]["layers"]
    assert trt["trtexec"]["tensorrt10"].endswith(" --sparsity=enable") and trt["build_script"].endswith(
        "--sparse-weights"
    )
    assert "--sparsity=enable" in (tmp_path / "b" / "trtexec.sh").read_text()
    assert "sparse tensor cores" in " ".join((tmp_path / "b" / "README.md").read_text().split())


def test_a_three_class_bundle_counts_its_classifier_names_its_weights_and_lists_every_file(
    cli, nonsquare_imagefolder, tmp_path, monkeypatch
):
    """A 3-class supernet, exported after a search that counted a 10-class classifier (a MACs-proxy search
    counts its latency table's): the summary and bundle.json gave the 10-class params (2.14M for 2.13M). The
    supernet given by a relative path is recorded absolute with its SHA-256; the file table has bundle.json."""
    monkeypatch.chdir(tmp_path)
    space, cfg = SearchSpace.get(CIFAR), SearchSpace.get(CIFAR).min(28)
    torch.manual_seed(0)
    save_supernet(Supernet(space, 3), tmp_path / "net3.safetensors")
    ten = CostModel(space, 10).counts(cfg)
    table = {"device": "x86-cpu", "kind": "measured"}
    record = {"subnet": cfg.to_dict(), "supernet": None, "device": "x86-cpu", "latency_table": table}
    home = tmp_path / "ofa-edge-home"  # $OFA_EDGE_HOME (tests/conftest.py)
    home.mkdir()
    (home / "last_search.json").write_text(json.dumps(record | {"predicted": {"latency_ms": 1.0, **ten}}))
    code, out, err = _run(
        cli, "export", "--supernet", "net3.safetensors", "--data", str(nonsquare_imagefolder), "--out", "b",
        "--bn-images", "18",
    )  # fmt: skip
    assert code == 0, err
    m = json.loads((tmp_path / "b" / "bundle.json").read_text())
    params = sum(p.numel() for p in Supernet(space, 3).extract(cfg).parameters())
    assert m["num_classes"] == 3 and m["params"] == params != ten["params"]
    assert m["predicted"]["params"] == params and m["predicted"]["macs"] == m["macs"] < ten["macs"]
    assert f"{params / 1e6:.2f}M params" in out and f"{ten['params'] / 1e6:.2f}M params" not in out
    assert "counted again for the 3 classes of this supernet" in err
    assert m["supernet"] == str(tmp_path / "net3.safetensors")
    assert m["weights_sha256"] == file_sha256(tmp_path / "net3.safetensors")
    assert m["bn_recalibration"]["data"] == str(nonsquare_imagefolder)
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("│")]
    assert sorted(listed) == sorted(p.name for p in (tmp_path / "b").iterdir()) and "bundle.json" in listed


def test_trt_bundle_with_int8(export, tmp_path):
    code, out, err = export(
        "--format", "trt", "--int8", "--int8-calib-images", "32", "--int8-eval-images", "100", "--json"
    )
    assert code == 0, err
    doc, b = _doc(out), tmp_path / "b"
    trt = doc["tensorrt"]
    assert trt["precision"] == "int8"
    build = "trtexec --onnx=model_int8.onnx --saveEngine=model.engine --memPoolSize=workspace:1024M"
    assert trt["trtexec"]["tensorrt10"] == f"{build} --int8 --fp16"
    assert trt["trtexec"]["tensorrt11"] == build
    assert trt["sparse_weights"] is None  # a dense network
    assert bundle_defaults(tmp_path / "b") == {"precision": "int8", "max_batch": None, "sparse_weights": False}
    for name in ("build_engine.py", "check_latency.py", "trtexec.sh", "model_int8.onnx"):
        assert (b / name).is_file(), name
    q = onnx.load(b / "model_int8.onnx")
    zps = [onnx.numpy_helper.to_array(t) for t in q.graph.initializer if t.name.endswith("_zero_point")]
    assert zps and all(z.dtype == np.int8 and not z.any() for z in zps)  # symmetric int8: TensorRT reads it
    assert doc["int8"]["eval_images"] == 100 and 0 <= doc["int8"]["top1_int8"] <= 100
    ok, _ = tensorrt_status()
    assert trt["engine_built"] is ok
    if not ok:
        assert "build the engine on the target" in trt["engine_missing_reason"]
        run = subprocess.run([sys.executable, str(b / "build_engine.py")], capture_output=True, text=True, check=False)
        assert run.returncode == 2 and "tensorrt" in run.stderr.lower()
    for script in ("build_engine.py", "check_latency.py"):  # standalone: runs with no ofa_edge on the path
        run = subprocess.run(
            [sys.executable, str(b / script), "--help"],
            capture_output=True,
            text=True,
            cwd=b,
            env={"PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert run.returncode == 0, run.stderr


def test_an_engine_after_a_two_device_search_records_whose_table_set_its_precision(
    cli, ckpt, tables_dir, data_root, tmp_path
):
    """After `search --device x86-cpu --device jetson-orin`, the engine followed the Orin's fp16 table and said so,
    but bundle.json's predicted.device (x86-cpu) left a later reader to guess which table set the precision."""
    orin = tables_dir / "jetson-orin.json"
    code, _, err = cli("profile", "--device", "jetson-orin", "--estimate", "--space", CIFAR, "-o", str(orin))
    assert code == 0, err
    code, _, err = cli(
        "search", "--supernet", str(ckpt), "--accuracy-proxy", "macs", "--device", "x86-cpu", "--device",
        "jetson-orin", "--latency", "50ms", "--latency", "15ms", "--no-measure", "--population", "20",
        "--generations", "10",
    )  # fmt: skip
    assert code == 0, err
    common = ["--format", "trt", "--data", str(data_root), *FAST, "--json"]
    code, out, err = _run(cli, "export", "--out", str(tmp_path / "b"), *common)
    assert code == 0, err
    assert "precision fp16: jetson-orin's latency table is for fp16" in err
    doc = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert doc["predicted"]["device"] == "x86-cpu" and doc["tensorrt"]["precision"] == "fp16"
    assert doc["tensorrt"]["precision_from"] == {"device": "jetson-orin", "precision": "fp16", "chosen_by": "table"}
    readme = " ".join((tmp_path / "b" / "README.md").read_text().split())
    assert "Precision fp16: it follows the search: jetson-orin's latency table, which the search predicted" in readme
    code, out, err = _run(cli, "export", "--out", str(tmp_path / "c"), "--no-half", *common)
    assert code == 0, err
    trt = _doc(out)["tensorrt"]
    assert trt["precision"] == "fp32"
    assert trt["precision_from"] == {"device": "jetson-orin", "precision": "fp16", "chosen_by": "--no-half"}
    assert "Precision fp32: chosen with `--no-half`; jetson-orin's" in (tmp_path / "c" / "README.md").read_text()


def test_last_search_is_the_default_subnet(cli, ckpt, tmp_path, data_root, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("OFA_EDGE_HOME", str(home))
    cfg = SearchSpace.get(CIFAR).min(24)
    (home / "last_search.json").write_text(
        json.dumps(
            {
                "subnet": cfg.to_dict(),
                "supernet": str(ckpt),
                "device": "jetson-orin",
                "predicted": {"latency_ms": 1.5, "accuracy": 0.8},
                "latency_table": {"device": "jetson-orin", "backend": "tensorrt", "kind": "measured"},
            }
        )
    )
    code, out, err = _run(cli, "export", "--data", str(data_root), *FAST, "--json")  # no --out: the default folder
    assert code == 0, err
    doc = _doc(out)
    assert "last search result" in err and doc["subnet"] == cfg.to_dict()
    assert doc["predicted"]["latency_ms"] == 1.5 and doc["predicted"]["latency_table"]["kind"] == "measured"
    assert doc["predicted"]["devices"] == {  # a record of before multi-device searches: its one device
        "jetson-orin": {
            "latency_ms": 1.5,
            "kind": "measured",
            "budget_ms": None,
            "latency_table": doc["predicted"]["latency_table"],
        }
    }
    bundle = home / "export" / default_bundle_name(CIFAR, 24, cfg.canonical().to_json(), ckpt, "onnx")
    assert doc["out"] == str(bundle) and "Predicted by the search" in (bundle / "README.md").read_text()


def test_every_searched_device_is_carried_and_estimates_are_labelled(cli, ckpt, tmp_path, data_root, monkeypatch):
    """After `search --device x86-cpu,pixel-8`, the bundle and the summary give both devices' predictions,
    the estimated one labelled, and the predicted accuracy says which images it is of; an ORT bundle's
    README says which file to run on x86 and the provider each device's table assumes."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("OFA_EDGE_HOME", str(home))
    x86 = {"device": "x86-cpu", "kind": "measured", "runtime": "onnxruntime", "provider": "cpu", "threads": 1}
    pixel = {"device": "pixel-8", "kind": "estimated", "runtime": "onnxruntime", "provider": "xnnpack", "threads": 4}
    record = {
        "subnet": SearchSpace.get(CIFAR).min(24).to_dict(),
        "supernet": str(ckpt),
        "device": "x86-cpu",
        "predicted": {"latency_ms": 2.0, "accuracy": 82.0, "macs": 1e7, "params": 1e6},
        "latency_table": x86,
        "devices": {
            "x86-cpu": {"budget_ms": 2.5, "predicted_ms": 2.0, "estimated": False, "provenance": x86},
            "pixel-8": {"budget_ms": 1.5, "predicted_ms": 1.4, "estimated": True, "provenance": pixel},
        },
    }
    (home / "last_search.json").write_text(json.dumps(record))
    b = tmp_path / "b"
    code, out, err = _run(cli, "export", "--format", "ort", "--out", str(b), "--data", str(data_root), *FAST)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "predicted on x86-cpu: 2.000 ms, budget 2.5 ms" in flat
    assert "predicted on pixel-8: 1.400 ms (estimated table), budget 1.5 ms" in flat
    assert "top-1 82.00 % (training-split images; `ofa-edge eval` measures the test split)" in flat
    said = " ".join(err.split())  # the second device's table is estimated: warned of, as the first's would be
    assert said.count("the latency table for 'pixel-8' is ESTIMATED") == 1 and "for 'x86-cpu' is ESTIMATED" not in said
    predicted = json.loads((b / "bundle.json").read_text())["predicted"]
    assert {d: v["kind"] for d, v in predicted["devices"].items()} == {"x86-cpu": "measured", "pixel-8": "estimated"}
    assert predicted["devices"]["pixel-8"]["latency_table"] == pixel and "training-split" in predicted["accuracy_note"]
    readme = " ".join((b / "README.md").read_text().split())
    assert "| x86-cpu | 2.000 ms | measured | 2.5 ms |" in readme
    assert "| pixel-8 | 1.400 ms | **estimated**, not measured | 1.5 ms |" in readme
    assert "Accuracy 82.00: the predicted top-1 (%) of training-split images" in readme
    assert "On an x86 CPU run `model.onnx` instead" in readme
    assert "pixel-8 (estimated table): `XnnpackExecutionProvider`, 4 threads" in readme
    assert "x86-cpu (measured table): `CPUExecutionProvider`, 1 thread" in readme


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "onnxx"], "Did you mean 'onnx'"),
        (
            ["--format", "ort", "--half"],
            "error: --half is not supported for format 'ort'. It takes: --dynamic-batch, --int8.",
        ),
        (["--int8", "--half"], "error: --int8 and --half exclude each other: pick one precision."),
        (["--max-batch", "0"], "error: --max-batch 0: must be >= 1."),  # as other commands say it, not max_batch (...)
        (["--bn-images", "0"], "error: --bn-images 0: must be >= 1."),
        (["--int8", "--int8-eval-images", "0"], "error: --int8-eval-images 0: must be >= 1."),
        (
            ["--int8-calib-images", "64"],
            "error: --int8-calib-images sets the INT8 quantization: add --int8, or drop it.",
        ),
        (["--int8-calib-images", "256"], "error: --int8-calib-images sets"),  # the default, given
        (["--calib-images", "64"], "No such option: --calib-images"),
        (["--max-batch", "8"], "error: --max-batch is not supported for format 'onnx'"),  # its batch is open
        (
            ["--format", "trt", "--max-batch", "8"],
            "error: --max-batch sets the largest batch of a dynamic-batch engine: add --dynamic-batch, or drop it.",
        ),
        (["--format", "trt", "--max-batch", "32"], "add --dynamic-batch, or drop it"),  # the default, given
        (["--dynamic-batch", "--max-batch", "8"], "error: --max-batch is not supported for format 'onnx'"),
        (["--supernet", "."], "is a folder"),
        (["--opset", "12"], "error: --opset 12: must be in [13, 20] (13: the first with the per-channel quantization"),
    ],
)
def test_bad_flags_exit_2(cli, ckpt, subnet, tmp_path, args, message):
    code, out, err = _run(
        cli, "export", "--subnet", str(subnet), "--supernet", str(ckpt), "--out", str(tmp_path / "b"), *args
    )
    assert code == 2 and message in err and out == ""
    assert not (tmp_path / "b").exists()


def test_a_dynamic_batch_engine_says_its_default_largest_batch(cli, ckpt, subnet, data_root, tmp_path):
    code, out, err = _run(
        cli, "export", "--format", "trt", "--dynamic-batch", "--subnet", str(subnet), "--supernet", str(ckpt),
        "--out", str(tmp_path / "b"), "--data", str(data_root), *FAST, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "batches of 1 to 32 (default; --max-batch N)" in " ".join(err.split())
    assert _doc(out)["tensorrt"]["max_batch"] == 32


def test_the_readme_of_an_engine_not_built_here_says_so_where_it_names_the_deploy_file(export, tmp_path):
    """Its first paragraph said "Deploy file: `model.engine`." of a file the folder did not hold."""
    code, out, err = export("--format", "trt", "--json")
    assert code == 0, err
    built = _doc(out)["tensorrt"]["engine_built"]
    assert (tmp_path / "b" / "model.engine").is_file() is built
    readme = " ".join((tmp_path / "b" / "README.md").read_text().split())
    absent = "Deploy file: `model.engine`, which is not built here: build it on the target (TensorRT below)."
    assert (absent in readme) is not built and ("Deploy file: `model.engine`." in readme) is built


def test_slim_with_bn_images_exits_2_before_reading_the_network(cli, tmp_path):
    """A pruned network is exported with its own BN statistics: --bn-images was silently ignored."""
    slim = tmp_path / "run" / "slim.json"  # not there: the options are refused first
    code, out, err = _run(cli, "export", "--slim", str(slim), "--bn-images", "500", "--out", str(tmp_path / "b"))
    assert code == 2 and out == ""
    assert "--bn-images sets the BN recalibration of a supernet's subnet; a pruned network (--slim)" in err
    assert not (tmp_path / "b").exists()


def test_subnet_of_another_space_exits_2(cli, ckpt, tmp_path):
    other = tmp_path / "imagenet.json"
    SearchSpace.get("mbv3-w1.0-imagenet").min().save(other)
    code, _, err = _run(cli, "export", "--subnet", str(other), "--supernet", str(ckpt), "--out", str(tmp_path / "b"))
    assert code == 2 and "mbv3-w1.0-imagenet" in err and "--supernet" in err
    assert not (tmp_path / "b").exists()


def test_a_refused_option_leaves_no_folders_of_out_behind(cli, ckpt, tmp_path):
    """The --out check made --out's parents before the subnet's space was refused: a/b stayed, empty."""
    other = tmp_path / "imagenet.json"
    SearchSpace.get("mbv3-w1.0-imagenet").min().save(other)
    out = tmp_path / "a" / "b" / "c"
    code, _, err = _run(cli, "export", "--subnet", str(other), "--supernet", str(ckpt), "--out", str(out))
    assert code == 2 and "mbv3-w1.0-imagenet" in err, err
    assert not (tmp_path / "a").exists()


def test_data_of_other_classes_than_the_supernet_learned_exits_2(cli, subnet, tmp_path, renamed_sample):
    """Ten classes of other names would label the bundle's outputs wrongly (classes.txt) and score them against
    the wrong labels: a supernet whose training recorded its classes refuses such data, before any file is written."""
    torch.manual_seed(0)
    net = tmp_path / "trained.safetensors"
    save_supernet(Supernet(SearchSpace.get(CIFAR), 10), net, metadata={"training": {"classes": sample_classes()}})
    data = renamed_sample({"truck": "lorry"})
    args = ("export", "--subnet", str(subnet), "--supernet", str(net), "--out", str(tmp_path / "b"), *FAST)
    code, _, err = _run(cli, *args, "--data", str(data))
    assert (
        code == 2 and "names other classes than the network was trained on (10 vs 10; only in one: lorry, truck)" in err
    )
    assert f"error: --data '{data}' names" in err
    assert not (tmp_path / "b").exists()


def test_missing_subnet_or_supernet_exits_2(cli, subnet, tmp_path, monkeypatch):
    code, _, err = _run(cli, "export", "--supernet", str(tmp_path / "none.safetensors"))
    assert code == 2 and "ofa-edge search" in err  # no --subnet and no last search
    code, _, err = _run(cli, "export", "--subnet", "3fa9c2")  # an id of the search table, and no search
    flat = " ".join(err.split())
    assert code == 2 and "3fa9c2: no such file, and there is no last search result at" in flat, flat
    assert "run `ofa-edge search --latency 15ms` first" in flat and "top-k" not in flat
    code, _, err = _run(cli, "export", "--subnet", str(subnet), "--supernet", str(tmp_path / "none.safetensors"))
    assert code == 2 and "does not exist" in err
    monkeypatch.setattr("ofa_edge.paths.pretrained_dir", lambda: tmp_path / "not-installed")
    code, _, err = _run(cli, "export", "--subnet", str(subnet))
    assert code == 2 and "embedded pretrained supernet" in err and "--supernet" in err


def test_unwritable_output_exits_2(cli, ckpt, subnet, tmp_path):
    (tmp_path / "file").write_text("")
    code, _, err = _run(
        cli, "export", "--subnet", str(subnet), "--supernet", str(ckpt), "--out", str(tmp_path / "file" / "b")
    )
    assert code == 2 and "cannot write" in err


def test_failed_export_leaves_no_bundle(export, tmp_path, monkeypatch):
    monkeypatch.setattr("ofa_edge.export.verify.FP32_TOLERANCE", -1.0)  # every verification now fails
    code, _, err = export()
    assert code == 1 and "disagrees with PyTorch" in err
    assert {p.name for p in tmp_path.iterdir()} <= {"ofa-edge-home", "subnet.json"}  # no bundle, no temp folder


def test_ofa_dict_in_a_search_folder_on_an_imagefolder_tree(cli, ckpt, cifar_imagefolder, tmp_path):
    """An OFA arch dict that names no space is read in the supernet's space (it was read in
    ImageNet's: 'r: 28 is not one of [128, ...]'), a search output folder gives its subnet.json
    (it was 'Is a directory'), and --data takes an ImageFolder tree (export read only packed folders)."""
    found = tmp_path / "search"
    found.mkdir()
    cfg = SearchSpace.get(CIFAR).min(28)
    (found / "subnet.json").write_text(json.dumps(cfg.to_ofa_dict()))
    code, _, err = _run(
        cli, "export", "--subnet", str(found), "--supernet", str(ckpt), "--out", str(tmp_path / "b"),
        "--data", str(cifar_imagefolder), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "is a folder: using the subnet.json in it" in err
    assert json.loads((tmp_path / "b" / "subnet.json").read_text()) == cfg.to_dict()
    assert (tmp_path / "b" / "classes.txt").read_text().split()[:2] == ["airplane", "automobile"]
    bn = json.loads((tmp_path / "b" / "bundle.json").read_text())["bn_recalibration"]
    assert bn["images"] == 20 and "(all, if the data holds fewer)" in err  # the tree's 20, not --bn-images' 2000


def test_a_folder_without_subnet_and_a_data_file_exit_2(cli, ckpt, subnet, tmp_path):
    """Both as eval says them (they were 'Is a directory' and 'dataset folder ... does not exist')."""
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(cli, "export", "--subnet", str(empty), "--supernet", str(ckpt), "--out", str(tmp_path / "b"))
    assert code == 2 and "is a folder; pass the subnet JSON file in it" in err
    code, _, err = _run(
        cli, "export", "--subnet", str(subnet), "--supernet", str(ckpt), "--out", str(tmp_path / "b"),
        "--data", str(subnet),
    )  # fmt: skip
    assert code == 2 and "subnet.json' is a file; pass the dataset folder." in err
    assert not (tmp_path / "b").exists()


def test_ctrl_c_in_export_says_the_bundle_is_as_it_was(cli, ckpt, subnet, tmp_path, data_root, monkeypatch):
    """The CLI's line on long jobs resuming promised what export does not do: it writes the bundle whole or not."""

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr("ofa_edge.export.pipeline.export_bundle", interrupted)
    args = ("export", "--subnet", str(subnet), "--supernet", str(ckpt), "--out", str(tmp_path / "b"), "--data")
    code, out, err = _run(cli, *args, str(data_root), *FAST)
    assert code == 130 and out == "" and "resume where they stopped" not in err, err
    assert f"interrupted; export writes its bundle whole or not at all, so '{tmp_path / 'b'}' is as it was" in err


def test_a_pruned_bundles_summary_says_what_prune_measured_latency_too(tmp_path, capsys):
    """docs/export.md: the summary says prune's top-1 and its device table's latency before and after (it said
    the top-1 alone; the bundle's README had both)."""
    from ofa_edge.cli.export_cmd import _render

    (tmp_path / "bundle.json").write_text("{}")
    latency = {"device": "x86-cpu", "subnet_ms": 1.971, "pruned_ms": 1.424, "pruned_measured_ms": 1.506}
    pruning = {"method": "hesso", "top1": 17.0, "top1_unpruned": 74.0, "test_images": 200, "latency": latency}
    manifest = {
        "format": "onnx", "files": {}, "out": str(tmp_path), "primary": "model.onnx", "verification": [],
        "int8": None, "tensorrt": None, "predicted": None, "pruning": pruning, "opset": 17, "export_seconds": 9.8,
    }  # fmt: skip
    _render(manifest)
    said = " ".join(capsys.readouterr().out.split())
    assert "top-1 17.00% on 200 test images (unpruned 74.00%)" in said
    assert "predicted on x86-cpu: 1.971 ms -> 1.424 ms (measured there: 1.506 ms)" in said
    _render({**manifest, "pruning": {**pruning, "latency": None}})  # no device table predicted it
    assert "predicted on" not in capsys.readouterr().out
