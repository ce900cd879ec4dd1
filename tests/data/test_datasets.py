"""Datasets in four formats decode to the same uint8 tensors; subsets are class-balanced; bad data
is a user error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ofa_edge.data.classes import require_same_classes
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.formats import detect_format, split_identity, split_size
from ofa_edge.errors import UserError, for_cli


def test_packed_subset_is_balanced_and_decoded(data_root, real) -> None:
    assert detect_format(data_root) == "packed"
    assert (split_size(data_root, "train"), split_size(data_root, "test")) == (50000, 10000)
    assert split_size(data_root / "absent") is None
    assert real.images.dtype == torch.uint8 and real.images.shape == (20, 3, 32, 32)
    assert np.bincount(real.labels.numpy(), minlength=10).max() <= 4


def test_cifar_binary_matches_the_images(tmp_path, real) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rows = np.concatenate([real.labels.numpy()[:, None].astype(np.uint8), real.images.reshape(20, -1).numpy()], 1)
    for i in range(1, 6):
        rows[(i - 1) * 4 : i * 4].tofile(folder / f"data_batch_{i}.bin")
    rows[:3].tofile(folder / "test_batch.bin")
    (folder / "batches.meta.txt").write_text("\n".join(real.classes) + "\n")
    got = load_dataset(tmp_path, "train")
    assert torch.equal(got.images, real.images) and torch.equal(got.labels, real.labels)
    assert got.classes == real.classes and len(load_dataset(tmp_path, "test")) == 3
    assert (split_size(tmp_path, "train"), split_size(tmp_path, "test")) == (20, 3)  # counted from the files' sizes
    assert (got.split, got.subset(slice(2)).split, got.shuffled(0).split) == ("train",) * 3
    (folder / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="malformed"):
        load_dataset(tmp_path, "test")


def test_imagefolder_tree(tmp_path, real) -> None:
    for i in range(6):
        d = tmp_path / "train" / real.classes[int(real.labels[i])]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(d / f"{i}.png")
    got = load_dataset(tmp_path, "train", size=32)
    assert len(got) == 6 and got.images.shape[1:] == (3, 32, 32) and split_size(tmp_path, "train") == 6
    assert sorted(got.images.sum((1, 2, 3)).tolist()) == sorted(real.images[:6].sum((1, 2, 3)).tolist())
    with pytest.raises(UserError, match=r"has no split 'test' \(it has train\); an ImageFolder tree needs .*/test/"):
        load_dataset(tmp_path, "test")


def test_an_imagefolder_tree_with_val_is_evaluated_on_val(tmp_path, real) -> None:
    """ROOT/{train,val}/<class> (ImageNet's layout) was refused: "'ROOT' has no split 'test' (it has train, val)",
    and export and prune, which take no split option, could not use such a tree at all."""
    for split in ("train", "val"):
        for i in range(2):
            (tmp_path / split / f"class{i}").mkdir(parents=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(
                tmp_path / split / f"class{i}" / f"{split}.png"
            )
    got = load_dataset(tmp_path, "test")
    assert len(got) == 2 and got.classes == ["class0", "class1"]
    assert got.split == got.subset(slice(1)).split == "val"  # what eval, train and prune name it by
    assert split_identity(tmp_path, "test") == split_identity(tmp_path, "val") is not None
    (tmp_path / "val" / "class1").rename(tmp_path / "val" / "class2")
    with pytest.raises(UserError, match=r"^split 'val' of .* names other classes than 'train'"):  # not 'test'
        require_same_classes(load_dataset(tmp_path, "train"), load_dataset(tmp_path, "test"), tmp_path)
    (tmp_path / "test" / "class0").mkdir(parents=True)
    with pytest.raises(UserError, match="holds no images"):  # a test/ there is the test split, even empty
        load_dataset(tmp_path, "test")


def test_an_empty_class_folder_is_refused_and_hidden_folders_are_no_classes(tmp_path, real) -> None:
    """An empty class folder became a class the network predicted and never saw (its name in classes.txt);
    a hidden folder (.ipynb_checkpoints) was a class too."""
    for i in range(2):
        (tmp_path / "train" / f"class{i}").mkdir(parents=True)
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(tmp_path / "train" / f"class{i}" / "0.png")
    (tmp_path / "train" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "train" / "class1" / "notes.txt").write_text("not an image")
    assert load_dataset(tmp_path, "train").classes == ["class0", "class1"]
    (tmp_path / "train" / "zebra").mkdir()
    (tmp_path / "train" / "zebra" / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(UserError, match=r"^class folder zebra in '.*train' holds no images .*remove the folder"):
        load_dataset(tmp_path, "train")


def test_images_in_subfolders_count_and_hidden_files_are_skipped(tmp_path, real) -> None:
    """Images in a class's subfolders (torchvision's ImageFolder reads them) were silently left out, and the
    '._0.png' that macOS writes beside each image on other disks was 'not a readable image': exit 2."""
    for i in range(2):
        (tmp_path / "train" / f"class{i}" / "batch1").mkdir(parents=True)
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(tmp_path / "train" / f"class{i}" / "0.png")
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(
            tmp_path / "train" / f"class{i}" / "batch1" / "1.png"
        )
        (tmp_path / "train" / f"class{i}" / "._0.png").write_bytes(b"\0\5\26\7 AppleDouble")
    got = load_dataset(tmp_path, "train")
    assert len(got) == 4 and got.labels.tolist() == [0, 0, 1, 1]


def test_a_flat_imagefolder_is_told_the_layout(tmp_path, real) -> None:
    """Class folders right under the root were 'unknown split 'test'; the dataset has cat, dog'."""
    for i in range(3):
        (tmp_path / f"class{i}").mkdir()
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(tmp_path / f"class{i}" / "0.png")
    with pytest.raises(UserError, match=r"holds images directly in class0, class1, class2: .*/train/<class>/<image>"):
        load_dataset(tmp_path, "test")


def test_a_split_folder_given_for_the_tree_names_the_tree(tmp_path, real) -> None:
    """--data mydata/train (the split, not the tree) was told to move its class folders into train/."""
    for split in ("train", "test"):
        for i in range(2):
            (tmp_path / split / f"class{i}").mkdir(parents=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(tmp_path / split / f"class{i}" / "0.png")
    with pytest.raises(UserError, match=r"is the train/ split of the ImageFolder tree '.*': pass .*$"):
        load_dataset(tmp_path / "train", "train")


def test_unknown_split_names_the_splits_there(tmp_path, data_root) -> None:
    """Packed (train, test), CIFAR binary (train, test): the message lists the splits, not a missing file."""
    with pytest.raises(UserError, match=r"^unknown split 'val'; the dataset '.*' has train, test\.$"):
        load_dataset(data_root, "val")
    (tmp_path / "cifar-10-batches-bin").mkdir()
    with pytest.raises(UserError, match=r"^unknown split 'validation'; .* has train, test\.$"):
        load_dataset(tmp_path, "validation")


def test_bad_datasets_are_user_errors(tmp_path) -> None:
    """A Python caller is told the argument and the flag (it was told "--data" alone); the CLI says the flag."""
    with pytest.raises(UserError, match=r"does not exist; check the path given to data \(--data\)") as e:
        load_dataset(tmp_path / "nope", "train")
    assert for_cli(e.value).endswith("given to --data (or $OFA_EDGE_DATA), or pass --data PATH to your dataset.")
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match=r"^data \(--data\) '.*file' is a file; pass the dataset folder\.$"):
        load_dataset(tmp_path / "file", "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.txt").write_text("hi")
    with pytest.raises(UserError, match="not a dataset"):
        load_dataset(empty, "train")


def test_limit_takes_a_class_balanced_subset(data_root) -> None:
    got = load_dataset(data_root, "train", limit=25, seed=3)
    counts = np.bincount(got.labels.numpy(), minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() <= 1
    again = load_dataset(data_root, "train", limit=25, seed=3)
    assert torch.equal(again.labels, got.labels) and torch.equal(again.images, got.images)
    other = load_dataset(data_root, "train", limit=25, seed=4)
    assert not torch.equal(other.images, got.images)


def test_labels_beyond_the_class_list_and_splits_with_other_classes_are_user_errors(tmp_path, real, data_root) -> None:
    for split, n in (("train", 6), ("test", 4)):
        for i in range(n):
            d = tmp_path / "tree" / split / real.classes[int(real.labels[i])]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(d / f"{i}.png")
    train, test = load_dataset(tmp_path / "tree", "train"), load_dataset(tmp_path / "tree", "test")
    with pytest.raises(UserError, match="^split 'test' of .* names other classes than 'train'"):
        require_same_classes(train, test, tmp_path / "tree")
    require_same_classes(train, train, tmp_path / "tree")
    packed = tmp_path / "packed"
    packed.mkdir()
    for f in data_root.iterdir():
        if f.name != "classes.txt":
            (packed / f.name).symlink_to(f.resolve())
    (packed / "classes.txt").write_text("airplane\nautomobile\n")  # 2 names for 10 labels
    with pytest.raises(UserError, match="class list names 2 classes"):
        load_dataset(packed, "test", limit=20)


def test_unbalanced_limit_is_the_uniform_draw_of_load_packed(data_root, cifar_imagefolder) -> None:
    """``balanced=False`` (what export and prune take) is load_packed's uniform draw, on any layout."""
    from ofa_edge.data import load_packed

    got, want = load_dataset(data_root, "test", limit=40, seed=3, balanced=False), load_packed(data_root, "test", 40, 3)
    assert torch.equal(got.labels, want.labels) and torch.equal(got.images, want.images)
    tree = load_dataset(cifar_imagefolder, "train", limit=7, seed=3, balanced=False)
    assert len(tree) == 7 and tree.classes == want.classes


def test_split_identity_follows_content_not_place(data_root, cifar_imagefolder, tmp_path) -> None:
    """Packed: a hash of labels and offsets; other layouts: of file names and sizes. A moved copy
    keeps it, another image changes it, no dataset has none."""
    import hashlib
    import shutil

    from ofa_edge.data.formats import split_identity

    h = hashlib.sha256()
    for name in ("train.labels.npy", "train.offsets.npy"):
        h.update((data_root / name).read_bytes())
    assert split_identity(data_root) == h.hexdigest()[:16]  # the identity shipped predictors were saved with
    moved = tmp_path / "moved"
    shutil.copytree(cifar_imagefolder, moved)
    assert split_identity(moved) == split_identity(cifar_imagefolder) != split_identity(moved, "test")
    cls = next(p for p in (moved / "train").iterdir() if p.is_dir())
    image = next(cls.iterdir())
    (cls / ".ipynb_checkpoints").mkdir()  # what the loader does not read does not count
    shutil.copy(image, cls / ".ipynb_checkpoints" / "nested.png")
    (cls / "README.txt").write_text("not an image")
    assert split_identity(moved) == split_identity(cifar_imagefolder)
    (cls / "batch2").mkdir()  # an image in a subfolder is read (as torchvision's ImageFolder reads it)
    shutil.copy(image, cls / "batch2" / "extra.png")
    assert split_identity(moved) != split_identity(cifar_imagefolder)
    assert split_identity(tmp_path / "nothing") is None
