"""A built wheel carries what `search` and `export` need to run right after install, from any folder."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from ofa_edge.cli.docs_links import EXTERNAL, LINK
from ofa_edge.paths import PACKAGE_DIR

CHECKOUT = PACKAGE_DIR.parent
MAX_WHEEL_BYTES = 20_000_000  # 13.9 MB, 12.9 of them the embedded supernet; more means something large slipped in
NOT_SOURCE = (".git", "build", "dist", "data", ".whl", "*.egg-info", ".*_cache", "ofa-edge-runs")  # top level


def _not_source(folder: str, names: list[str]) -> set[str]:
    """Build outputs, caches and carried data at the checkout's top level, and ``__pycache__`` anywhere."""
    top = Path(folder) == CHECKOUT
    return {n for n in names if n == "__pycache__" or (top and any(fnmatch(n, p) for p in NOT_SOURCE))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout built as a wheel and installed (without dependencies) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"  # a copy without build/: a stale build/lib would put old files in the wheel
    shutil.copytree(CHECKOUT, source, ignore=_not_source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", source], check=True)
    (wheel,) = (tmp / "dist").glob("ofa_edge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_files = (
        "devices/x86-cpu.yaml",
        "latency_tables/x86-cpu.json",
        "pretrained/cifar10-sample/train.jpg.bin",
        "docs/latency.md",
    )
    for shipped in shipped_files:
        assert f"ofa_edge/{shipped}" in names, f"the wheel lacks ofa_edge/{shipped}"
    clutter = [n for n in names if not n.startswith(("ofa_edge/", "ofa_edge-")) or "__pycache__" in n or "/tests/" in n]
    assert not clutter, f"the wheel holds files a user does not need: {clutter}"
    assert wheel.stat().st_size < MAX_WHEEL_BYTES, f"the wheel is {wheel.stat().st_size:,} bytes"
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp / "site", wheel], check=True)
    return tmp / "site"


def _python(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` with the installed copy, in ``cwd``, as a user with no ofa-edge settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OFA_EDGE_", "XDG_", "PYTHONPATH"))}
    env |= {"PYTHONPATH": str(site), "HOME": str(cwd / "home")}
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``ofa-edge ARGS`` from the installed copy."""
    return _python(site, cwd, "-m", "ofa_edge", *args)


def test_every_module_imports_from_the_installed_copy(installed, tmp_path):
    code = (
        "import pkgutil, importlib, ofa_edge; "
        "names = [m.name for m in pkgutil.walk_packages(ofa_edge.__path__, 'ofa_edge.') if m.name != 'ofa_edge.__main__']; "
        "print('\\n'.join(importlib.import_module(n).__file__ for n in names))"
    )
    r = _python(installed, tmp_path, "-c", code)
    files = r.stdout.split()
    assert r.returncode == 0 and len(files) > 50, r.stderr
    assert [f for f in files if not f.startswith(str(installed))] == []  # none from the checkout


def test_search_then_export_run_from_the_installed_wheel_offline_with_no_data(installed, tmp_path):
    where = _run_installed(installed, tmp_path, "devices", "x86-cpu", "--json")
    assert where.returncode == 0, where.stderr
    assert json.loads(where.stdout)["table"] == str(installed / "ofa_edge" / "latency_tables" / "x86-cpu.json")
    r = _run_installed(installed, tmp_path, "search", "--latency", "15ms", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["supernet"] == str(installed / "ofa_edge" / "pretrained" / "supernet.safetensors")
    assert doc["devices"]["x86-cpu"]["predicted_ms"] <= 15
    assert (tmp_path / "ofa-edge-runs" / "last_search.json").is_file()
    r = _run_installed(installed, tmp_path, "export", "--bn-images", "200", "--out", "bundle", "--json")
    assert r.returncode == 0, r.stderr
    assert "using the CIFAR-10 sample shipped with the embedded supernet" in " ".join(r.stderr.split())
    bundle = json.loads(r.stdout)
    assert bundle["bn_recalibration"]["data"] == str(installed / "ofa_edge" / "pretrained" / "cifar10-sample")
    assert (tmp_path / "bundle" / "model.onnx").is_file()


def test_the_readmes_install_names_the_wheel_a_build_writes_and_real_extras():
    """The README installs the wheel by its file name (which holds the version) with extras of pyproject.toml."""
    readme, pyproject = (CHECKOUT / "README.md").read_text(), (CHECKOUT / "pyproject.toml").read_text()
    version = re.search(r'^version = "(.+)"$', pyproject, re.MULTILINE).group(1)
    assert f"pip install 'dist/ofa_edge-{version}-py3-none-any.whl[" in readme
    extras = set(re.findall(r"(?:\.whl|ofa-edge|\.)\[(\w+)\]", readme))
    assert "tensorrt" in extras and {e for e in extras if f"\n{e} = [" not in pyproject} == set()


# A message's pointer to a page: `ofa-edge docs TOPIC`, or a path such as docs/latency.md
CITATION = re.compile(r"ofa-edge docs ([a-z0-9][\w.-]*)|(?<![\w/])(docs/[\w.-]+\.md)")


def _messages(package: Path) -> Iterator[tuple[str, str]]:
    """(module, text) of each string literal in ``package`` that is not a docstring (docstrings are read in the
    source, beside the project's docs; messages are read by users of an installed copy)."""
    for file in sorted(package.rglob("*.py")):
        tree = ast.parse(file.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                yield file.relative_to(package).as_posix(), node.value


def test_every_page_a_message_cites_is_where_the_message_says(installed, tmp_path):
    """Messages cited docs/latency.md and others, which a user of the wheel, in a folder of their own, did not have."""
    cited = {
        (module, m.group(1) or m.group(2)) for module, text in _messages(installed) for m in CITATION.finditer(text)
    }
    assert len(cited) >= 5, cited
    missing = []
    for module, page in sorted(cited):
        if page.startswith("docs/"):
            found = (tmp_path / page).is_file()  # relative to where the user runs ofa-edge
        else:
            r = _run_installed(installed, tmp_path, "docs", page, "--path")
            path = Path(r.stdout.strip())
            found = r.returncode == 0 and path.is_file() and path.is_relative_to(installed)
        if not found:
            missing.append(f"{module}: {page}")
    assert not missing, f"messages cite pages an installed user cannot open: {missing}"


def test_printed_pages_link_to_what_the_installed_copy_holds(installed, tmp_path):
    """`ofa-edge docs TOPIC` printed the checkout's relative links, which lead nowhere from an installed copy
    (and the validation pages' plots were not in the wheel)."""
    code = (
        "import json; from ofa_edge.cli.docs_links import for_terminal; from ofa_edge.paths import doc_pages; "
        "print(json.dumps({t: for_terminal(p.read_text()) for t, p in doc_pages().items()}))"
    )
    r = _python(installed, tmp_path, "-c", code)
    assert r.returncode == 0, r.stderr
    printed = "\n".join(json.loads(r.stdout).values())
    targets = {m.group(3) for m in LINK.finditer(printed) if not EXTERNAL.match(m.group(3))}
    assert any(t.endswith("latency-validation-h100.png") for t in targets), targets
    assert [t for t in targets if not (Path(t).is_file() and Path(t).is_relative_to(installed))] == []
    unshipped = re.findall(r"`((?:docs|ofa_edge)/[^`]+)` in the source repository", printed)
    assert unshipped == [], f"the pages link to package files the wheel lacks: {unshipped}"
