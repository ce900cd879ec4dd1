"""What a dataset folder holds, read without decoding: here, the images of an ImageFolder split and their order,
which the loader reads and the split's identity hashes (a new order would be a new identity: measured
accuracies cached for the data would be measured again)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ofa_edge.data.formats import imagefolder_images


def test_imagefolder_images_are_sorted_name_by_name_down_the_folders(tmp_path) -> None:
    """Paths' own order, not their strings': a/z.jpg before a-b.jpg ('/' sorts after '-'). Nested images count;
    hidden files and folders, other files and broken links do not; a link to an image or to a folder does, where
    the folder sorts by the link's name (as torchvision's ImageFolder reads it: linked folders were left out)."""
    for rel in ("cat/a/z.jpg", "cat/a-b.jpg", "cat/a.PNG", "cat/b/c/d.jpeg", "cat/notes.txt", "cat/.hidden/x.jpg",
                "cat/._a.jpg", "dog/1.jpg", "elsewhere/e.jpg", "elsewhere/deep/f.jpg"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "cat" / "folder.jpg").mkdir()  # a folder named like an image is walked, not read
    (tmp_path / "cat" / "folder.jpg" / "in.jpg").write_bytes(b"")
    _link(tmp_path / "cat" / "broken.jpg", tmp_path / "nowhere.jpg")
    _link(tmp_path / "cat" / "link.jpg", tmp_path / "cat" / "a-b.jpg")
    _link(tmp_path / "dog" / "linked", tmp_path / "elsewhere")
    _link(tmp_path / "dog" / ".hidden-link", tmp_path / "elsewhere")
    _link(tmp_path / "dog" / "gone", tmp_path / "no-folder")
    got = [(ci, path.relative_to(tmp_path).as_posix()) for ci, path in imagefolder_images(tmp_path)]
    assert got == [
        (0, "cat/a/z.jpg"), (0, "cat/a-b.jpg"), (0, "cat/a.PNG"), (0, "cat/b/c/d.jpeg"), (0, "cat/folder.jpg/in.jpg"),
        (0, "cat/link.jpg"), (1, "dog/1.jpg"), (1, "dog/linked/deep/f.jpg"), (1, "dog/linked/e.jpg"),
        (2, "elsewhere/deep/f.jpg"), (2, "elsewhere/e.jpg"),
    ]  # fmt: skip


def test_a_link_back_up_the_tree_is_not_walked_round_and_round(tmp_path) -> None:
    """A link to the folder it is in, to the class folder or above, or through another linked folder back to one
    being walked, would be a cycle: its images are read once, by their own path."""
    for rel in ("train/cat/1.jpg", "train/cat/sub/2.jpg", "other/3.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    _link(tmp_path / "train" / "cat" / "sub" / "self", tmp_path / "train" / "cat" / "sub")
    _link(tmp_path / "train" / "cat" / "sub" / "up", tmp_path / "train" / "cat")
    _link(tmp_path / "train" / "cat" / "split", tmp_path / "train")
    _link(tmp_path / "train" / "cat" / "root", tmp_path)
    _link(tmp_path / "train" / "cat" / "other", tmp_path / "other")
    _link(tmp_path / "other" / "back", tmp_path / "train" / "cat")
    got = [path.relative_to(tmp_path / "train").as_posix() for _, path in imagefolder_images(tmp_path / "train")]
    assert got == ["cat/1.jpg", "cat/other/3.jpg", "cat/sub/2.jpg"]


def test_a_linked_class_folder_is_a_class(tmp_path) -> None:
    """Datasets are often built of links: ROOT/train/<class> -> the folder that holds the class's images."""
    for rel in ("store/cats/1.jpg", "store/extra/2.jpg", "store/dogs/3.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "train").mkdir()
    _link(tmp_path / "train" / "cat", tmp_path / "store" / "cats")
    _link(tmp_path / "store" / "cats" / "more", tmp_path / "store" / "extra")  # a link in a linked folder
    _link(tmp_path / "train" / "dog", tmp_path / "store" / "dogs")
    got = [(ci, path.relative_to(tmp_path).as_posix()) for ci, path in imagefolder_images(tmp_path / "train")]
    assert got == [(0, "train/cat/1.jpg"), (0, "train/cat/more/2.jpg"), (1, "train/dog/3.jpg")]


def _link(link: Path, target: Path) -> None:
    """Make ``link`` point at ``target`` (a folder or not, there or not); skip the test where links cannot be made."""
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:  # Windows without the right to make links
        pytest.skip("no symlinks here")
