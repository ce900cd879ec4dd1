"""What a dataset folder holds, read without decoding: here, the images of an ImageFolder split and their order,
which the loader reads and the split's identity hashes (a new order would be a new identity: measured
accuracies cached for the data would be measured again)."""

from __future__ import annotations

import pytest

from ofa_edge.data.formats import imagefolder_images


def test_imagefolder_images_are_sorted_name_by_name_down_the_folders(tmp_path) -> None:
    """Paths' own order, not their strings': a/z.jpg before a-b.jpg ('/' sorts after '-'). Nested images count;
    hidden files and folders, other files, broken links and linked folders do not; a link to an image does."""
    for rel in ("cat/a/z.jpg", "cat/a-b.jpg", "cat/a.PNG", "cat/b/c/d.jpeg", "cat/notes.txt", "cat/.hidden/x.jpg",
                "cat/._a.jpg", "dog/1.jpg", "elsewhere/e.jpg"):  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "cat" / "folder.jpg").mkdir()  # a folder named like an image is walked, not read
    (tmp_path / "cat" / "folder.jpg" / "in.jpg").write_bytes(b"")
    try:
        (tmp_path / "cat" / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
        (tmp_path / "cat" / "link.jpg").symlink_to(tmp_path / "cat" / "a-b.jpg")
        (tmp_path / "dog" / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    except OSError:  # Windows without the right to make links
        pytest.skip("no symlinks here")
    got = [(ci, path.relative_to(tmp_path).as_posix()) for ci, path in imagefolder_images(tmp_path)]
    assert got == [
        (0, "cat/a/z.jpg"), (0, "cat/a-b.jpg"), (0, "cat/a.PNG"), (0, "cat/b/c/d.jpeg"), (0, "cat/folder.jpg/in.jpg"),
        (0, "cat/link.jpg"), (1, "dog/1.jpg"), (2, "elsewhere/e.jpg"),
    ]  # fmt: skip
