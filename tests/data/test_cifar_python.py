"""torchvision's CIFAR folders are read from their pickles as data: the images come back exact,
and a pickle that asks for a call gets refused without the call being made."""

from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ofa_edge.data.cifar_python import Call, walk_pickle
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.formats import detect_format
from ofa_edge.errors import UserError


def _py2(value) -> bytes:
    """``value`` as Python 2's cPickle protocol 2 wrote CIFAR's files: str as (SHORT_)BINSTRING,
    memoised containers, lists in APPENDS batches, the array as numpy's _reconstruct + BUILD."""
    memo = iter(range(1, 1_000_000))

    def put() -> bytes:
        return b"q" + bytes([next(memo) % 256])

    def s(text: str | bytes) -> bytes:
        raw = text if isinstance(text, bytes) else text.encode("latin1")
        return (b"U" + bytes([len(raw)]) if len(raw) < 256 else b"T" + struct.pack("<i", len(raw))) + raw

    def i(n: int) -> bytes:
        return (
            b"K" + bytes([n])
            if 0 <= n < 256
            else (b"M" + struct.pack("<H", n) if 0 <= n < 65536 else b"J" + struct.pack("<i", n))
        )

    def enc(v) -> bytes:
        if isinstance(v, (str, bytes)):
            return s(v) + put()
        if isinstance(v, int):
            return i(v)
        if isinstance(v, list):
            out = b"]" + put()
            for k in range(0, len(v), 1000):
                out += b"(" + b"".join(enc(x) for x in v[k : k + 1000]) + b"e"
            return out
        if isinstance(v, dict):
            return b"}" + put() + b"(" + b"".join(enc(k) + enc(x) for k, x in v.items()) + b"u"
        assert isinstance(v, np.ndarray) and v.dtype == np.uint8 and v.ndim == 2
        dtype = b"cnumpy\ndtype\n" + put() + s("u1") + i(0) + i(1) + b"\x87R" + put()
        dtype += b"(" + i(3) + s("|") + b"NNN" + b"J\xff\xff\xff\xffJ\xff\xff\xff\xff" + i(0) + b"tb"
        head = b"cnumpy.core.multiarray\n_reconstruct\n" + put() + b"cnumpy\nndarray\n" + put()
        head += i(0) + b"\x85" + s("b") + b"\x87R" + put()
        return head + b"(" + i(1) + i(v.shape[0]) + i(v.shape[1]) + b"\x86" + dtype + b"\x89" + s(v.tobytes()) + b"tb"

    return b"\x80\x02" + enc(value) + b"."


def _rows(images: torch.Tensor) -> np.ndarray:
    return images.reshape(len(images), -1).numpy()


def test_cifar10_folder_as_python2_wrote_it(tmp_path, real) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    labels = real.labels.tolist()
    for b in range(5):
        part = slice(4 * b, 4 * b + 4)
        batch = {"batch_label": f"training batch {b + 1} of 5", "labels": labels[part], "data": _rows(real.images[part]),
                 "filenames": [f"img{k}.png" for k in range(4)]}  # fmt: skip
        (folder / f"data_batch_{b + 1}").write_bytes(_py2(batch))
    (folder / "test_batch").write_bytes(_py2({"labels": labels[:3], "data": _rows(real.images[:3])}))
    (folder / "batches.meta").write_bytes(
        _py2({"num_cases_per_batch": 4, "label_names": real.classes, "num_vis": 3072})
    )

    assert detect_format(tmp_path) == "cifar-py" and detect_format(folder) == "cifar-py"
    got = load_dataset(tmp_path, "train")
    assert torch.equal(got.images, real.images) and torch.equal(got.labels, real.labels)
    assert got.classes == real.classes and len(load_dataset(folder, "test")) == 3


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar100_folder_pickled_by_python3_and_numpy(tmp_path, real, protocol) -> None:
    """numpy's own pickling (protocol 2 carries the bytes through a ``_codecs encode`` call)."""
    folder = tmp_path / "renamed"  # recognised by its files, whatever the folder is called
    folder.mkdir()
    fine = [int(x) * 7 % 100 for x in real.labels]
    for name, part in (("train", slice(0, 20)), ("test", slice(0, 5))):
        doc = {"filenames": ["x"] * 20, "fine_labels": fine[part], "coarse_labels": [0] * 20,
               "data": _rows(real.images[part])}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(doc, protocol=protocol))
    names = [f"class{k}" for k in range(100)]
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": names, "coarse_label_names": ["c"]}, protocol))

    got = load_dataset(folder, "train")
    assert torch.equal(got.images, real.images) and got.labels.tolist() == fine and got.classes == names
    assert len(load_dataset(folder, "test", limit=2)) == 2


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_asks_for_a_call_is_refused_and_nothing_runs(tmp_path) -> None:
    marker = tmp_path / "pwned"
    doc = walk_pickle(pickle.dumps({"data": _Exploit(marker)}), "test")
    assert isinstance(doc["data"], Call) and doc["data"].target in ("posix system", "os system")

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(pickle.dumps({"data": _Exploit(marker), "labels": [0]}))
    with pytest.raises(UserError, match="not a numpy array as CIFAR stores it"):
        load_dataset(tmp_path, "train")
    assert not marker.exists()


def test_broken_cifar_folders_are_user_errors(tmp_path, real) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with pytest.raises(UserError, match="is missing"):
        load_dataset(tmp_path, "train")
    good = _py2({"labels": real.labels[:4].tolist(), "data": _rows(real.images[:4])})
    (folder / "data_batch_1").write_bytes(good[: len(good) // 2])
    with pytest.raises(UserError, match="malformed|truncated"):
        load_dataset(tmp_path, "train")
    with pytest.raises(UserError, match="unknown split 'val'.*has train, test"):
        load_dataset(tmp_path, "val")
