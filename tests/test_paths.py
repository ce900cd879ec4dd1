"""Where ofa-edge keeps your files: ``$XDG_DATA_HOME``, else the home folder, else the working folder."""

from __future__ import annotations

from pathlib import Path

from ofa_edge.paths import user_data_dir


def test_user_data_dir_follows_xdg_and_survives_a_missing_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert user_data_dir() == tmp_path / "ofa-edge"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # the XDG spec: ignore it
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "ofa-edge"

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.chdir(tmp_path)
    assert user_data_dir() == tmp_path / ".ofa-edge"
