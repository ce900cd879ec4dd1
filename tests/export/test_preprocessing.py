"""A bundle's preprocessing.json, followed from an image file (by the preprocess.py it ships), gives the
tensor ofa-edge's own loader and transforms give: the input the model was trained, recalibrated and
verified on. For non-square ImageFolder images that is a crop, not the squashing resize it once stated."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from PIL import Image

from ofa_edge import SearchSpace, Supernet, save_supernet
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.formats import crop_size
from ofa_edge.data.preprocess import preprocess
from ofa_edge.data.subset import subset_index
from ofa_edge.data.transforms import Preprocess
from ofa_edge.export import ExportRequest, export_bundle
from ofa_edge.onnx_bridge import ort_session

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _bundle_module(bundle: Path) -> ModuleType:
    """The bundle's own preprocess.py, imported from the bundle folder."""
    spec = importlib.util.spec_from_file_location("bundle_preprocess", bundle / "preprocess.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _loader_order(root: Path, split: str) -> list[Path]:
    """The image files of an ImageFolder split in the order the loader reads them (classes, then names)."""
    return [f for c in sorted((root / split).iterdir()) for f in sorted(c.iterdir())]


def _readme_python(bundle: Path) -> str:
    text = (bundle / "README.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, nonsquare_imagefolder) -> Path:
    """An ONNX bundle of a 3-class supernet's r28 subnet, exported on the non-square tree."""
    tmp = tmp_path_factory.mktemp("pre")
    torch.manual_seed(0)
    save_supernet(Supernet(SPACE, 3), tmp / "net.safetensors")
    out = tmp / "bundle"
    req = ExportRequest(
        format="onnx",
        subnet=SPACE.min(28),
        supernet=tmp / "net.safetensors",
        out=out,
        data=nonsquare_imagefolder,
        bn_images=18,
    )
    export_bundle(req)
    return out


def test_preprocessing_json_on_a_non_square_image_is_the_loader_s_tensor(bundle, nonsquare_imagefolder):
    pre = json.loads((bundle / "preprocessing.json").read_text())
    assert pre["crop_size"] == 32 and pre["resolution"] == 28 and "centred 32x32 square" in pre["steps"][1]
    files = _loader_order(nonsquare_imagefolder, "test")
    assert {Image.open(f).size[0] != Image.open(f).size[1] for f in files} == {True}
    got = np.concatenate([_bundle_module(bundle).preprocess(Image.open(f), pre) for f in files])
    test = load_dataset(nonsquare_imagefolder, "test", size=32)
    want = Preprocess(28, SPACE.mean, SPACE.std)(test.images).numpy()
    assert got.shape == want.shape == (9, 3, 28, 28) and np.abs(got - want).max() <= 1e-4
    # the export verified the model on these inputs: the seeded draw of 8 test images
    ref = np.load(bundle / "reference.npz")["inputs"]
    assert np.abs(got[subset_index(test.labels.numpy(), 8, 0, False)] - ref).max() <= 1e-4
    # what the bundle used to state: a squashing resize of the whole image, far from it
    squashed = [np.asarray(Image.open(f).convert("RGB").resize((28, 28), Image.BILINEAR)) for f in files]
    squashed = (np.stack(squashed) / 255 - np.array(SPACE.mean)) / np.array(SPACE.std)
    assert np.abs(squashed.transpose(0, 3, 1, 2) - want).mean() > 0.1


def test_the_bundle_readme_runs_the_model_on_an_image_without_ofa_edge(bundle, nonsquare_imagefolder):
    """Its Python block, as written, in the bundle folder, in a fresh interpreter that has no ofa_edge on
    its path: it classifies a non-square image as the toolkit's own tensor does."""
    image = _loader_order(nonsquare_imagefolder, "test")[0]
    Image.open(image).save(bundle / "image.jpg")
    (bundle / "run.py").write_text("import sys\nsys.modules['ofa_edge'] = None\n" + _readme_python(bundle))
    try:
        run = subprocess.run([sys.executable, "run.py"], cwd=bundle, capture_output=True, text=True, check=False)
    finally:
        (bundle / "run.py").unlink()
    assert run.returncode == 0, run.stderr
    label, ref_diff = run.stdout.split()
    x = _bundle_module(bundle).preprocess(
        Image.open(bundle / "image.jpg"), json.loads((bundle / "preprocessing.json").read_text())
    )
    logits = ort_session(bundle / "model.onnx").run(None, {"input": x})[0]
    assert label == (bundle / "classes.txt").read_text().split()[int(logits.argmax())] and float(ref_diff) <= 1e-4


def test_stored_datasets_are_not_cropped(data_root, tmp_path):
    """Packed JPEG and CIFAR images are used as stored (32x32): crop_size is null, and preprocess() of a
    stored image (a packed split's JPEG file, a CIFAR record) is the loader's tensor at every resolution."""
    index = subset_index(np.load(data_root / "test.labels.npy"), 6, 0, True)
    offsets = np.load(data_root / "test.offsets.npy")
    blob = (data_root / "test.jpg.bin").read_bytes()
    jpegs = [Image.open(io.BytesIO(blob[offsets[i] : offsets[i + 1]])) for i in index]
    packed = load_dataset(data_root, "test", limit=6, seed=0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rows = np.concatenate([packed.labels.numpy()[:, None].astype(np.uint8), packed.images.reshape(6, -1).numpy()], 1)
    for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
        rows.tofile(folder / name)
    records = [Image.fromarray(r[1:].reshape(3, 32, 32).transpose(1, 2, 0)) for r in rows]
    for root, stored in ((data_root, jpegs), (tmp_path, records)):
        assert crop_size(root, 32) is None
        images = load_dataset(root, "test", limit=6, seed=0).images
        for res in SPACE.resolutions:
            pre = Preprocess(res, SPACE.mean, SPACE.std)
            got = np.concatenate([preprocess(img, pre.to_dict() | {"crop_size": None}) for img in stored])
            assert np.abs(got - pre(images).numpy()).max() <= 1e-4
