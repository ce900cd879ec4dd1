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


def test_folder_variables_expand_home_and_treat_empty_as_unset(tmp_path, monkeypatch) -> None:
    """`OFA_EDGE_LATENCY_TABLES='~/tables'` wrote into a folder named '~' under the current one."""
    from ofa_edge.paths import devices_dir, latency_tables_dir, work_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", "~/tables")
    monkeypatch.setenv("OFA_EDGE_DEVICES", "~/devices")
    monkeypatch.setenv("OFA_EDGE_HOME", "~/runs")
    assert (latency_tables_dir(), devices_dir(), work_dir()) == (
        tmp_path / "tables",
        tmp_path / "devices",
        tmp_path / "runs",
    )
    for name in ("OFA_EDGE_LATENCY_TABLES", "OFA_EDGE_DEVICES", "OFA_EDGE_HOME"):
        monkeypatch.setenv(name, "")
    assert latency_tables_dir() == user_data_dir() / "latency_tables" and devices_dir() == user_data_dir() / "devices"
    assert work_dir() == Path("ofa-edge-runs")
