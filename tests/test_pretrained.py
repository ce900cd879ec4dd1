"""The embedded pretrained supernet: its model-card numbers reproduce, and the newcomer's path works."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ofa_edge.paths import pretrained_dir
from ofa_edge.supernet.metadata import read_metadata

CKPT = pretrained_dir() / "supernet.safetensors"
CARD = pretrained_dir() / "model_card.json"


def test_embedded_supernet_is_shipped_small_and_described() -> None:
    assert CKPT.is_file(), "the package must ship ofa_edge/pretrained/supernet.safetensors"
    assert CKPT.stat().st_size <= 20 * 2**20
    meta = read_metadata(CKPT)
    assert meta["space"] == "mbv3-w1.0-cifar" and meta["num_classes"] == 10
    assert meta["embedded"]["weights_dtype"] == "float16"
    for name in ("supernet.predictor.safetensors", "supernet.accuracy.json", "training_log.jsonl", "ledger.json"):
        assert (pretrained_dir() / name).is_file(), name


def test_model_card_min_subnet_reproduces(cli, tmp_path) -> None:
    card = json.loads(CARD.read_text())
    ev, want = card["ci_eval"], card["ci_probes"]["subnets"]["min"]
    subnet = tmp_path / "min.json"
    subnet.write_text(json.dumps(want["config"]))
    code, out, err = cli(
        "eval", "--supernet", str(CKPT), "--subnet", str(subnet), "--split", ev["split"],
        "--limit", str(ev["limit"]), "--bn-images", str(ev["calib_images"]), "--device", "cpu", "--json",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)["subnets"]["min"]["top1"]
    assert got == pytest.approx(want["top1"], abs=0.5)


def test_quickstart_runs_offline_with_embedded_defaults(
    cli, tmp_path, monkeypatch, capsys, cifar_test_small, run_readme_python
) -> None:
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path))
    code, out, err = cli("quickstart", "--images", "4", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["predictions"]) == 4 and doc["top1"] == 100 * sum(p["correct"] for p in doc["predictions"]) / 4
    assert doc["search"]["predicted"]["accuracy"] > 0 and doc["bundle"]["verification"][0]["max_abs_diff"] <= 1e-4
    assert (tmp_path / "quickstart" / "bundle" / "model.onnx").is_file()
    assert "embedded" in err  # the defaults it picked are printed
    qs = tmp_path / "quickstart"
    assert (qs / "bundle" / "subnet.json").read_text() == (qs / "search" / "subnet.json").read_text()
    # the README's example runs the bundle on an image as written
    cat = cifar_test_small.images[cifar_test_small.labels == cifar_test_small.classes.index("cat")][0]
    Image.fromarray(cat.permute(1, 2, 0).numpy()).save(qs / "cat.jpg")
    monkeypatch.chdir(qs)
    run_readme_python("InferenceSession", qs / "run_bundle.py")
    assert capsys.readouterr().out.strip() in cifar_test_small.classes
    code, _, err = cli("quickstart", "--images", "4", "--latency", "2ms")  # again: its own bundle is replaced
    assert code == 0, err
    assert (qs / "bundle" / "subnet.json").read_text() == (qs / "search" / "subnet.json").read_text()
    other = tmp_path / "other"
    (other / "bundle").mkdir(parents=True)
    (other / "bundle" / "notes.txt").write_text("mine\n")
    code, _, err = cli("quickstart", "--images", "4", "--out", str(other))  # not a bundle: refused before any work
    assert code == 2 and "not an ofa-edge bundle" in err and not (other / "search").exists()


def test_shipped_accuracies_and_card_were_measured_in_the_bn_batch_every_command_uses() -> None:
    """The shipped accuracies, the predictor fitted on them and the model card's probes all recalibrated BN in
    batches of BN_CALIB_BATCH: changing it means measuring them again (scripts/build_pretrained.py)."""
    from ofa_edge.search.accuracy import MeasureSettings
    from ofa_edge.search.predictor import AccuracyPredictor
    from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH

    cache = json.loads((pretrained_dir() / "supernet.accuracy.json").read_text())
    keys = [json.loads(k) for entry in cache["supernets"].values() for k in entry["by_settings"]]
    recorded = [MeasureSettings.from_dict({k: v for k, v in key.items() if k != "data"}) for key in keys]
    predictor = AccuracyPredictor.load(pretrained_dir() / "supernet.predictor.safetensors")
    recorded.append(MeasureSettings.from_dict(predictor.meta["settings"]))
    card = json.loads(CARD.read_text())
    batches = {s.calib_batch for s in recorded} | {card[k]["calib_batch"] for k in ("probes", "ci_probes")}
    assert batches == {BN_CALIB_BATCH}
