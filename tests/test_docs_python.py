"""The Python snippets in the README and docs parse, and every name they import exists (the
README's two complete examples are also run: tests/test_api.py, tests/test_pretrained.py)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPETS = [
    pytest.param(block.split("```", 1)[0], id=f"{doc.name}-{i}")
    for doc in DOCS
    for i, block in enumerate(doc.read_text().split("```python\n")[1:])
]


def test_the_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 8


def _imported(module: ModuleType, name: str) -> object | None:
    """What ``from module import name`` gives (``None``: nothing): an attribute, or a submodule the import
    loads (``from PIL import Image`` loads ``PIL.Image``, ``PIL``'s attribute only once something imported it)."""
    if hasattr(module, name):
        return getattr(module, name)
    try:
        return importlib.import_module(f"{module.__name__}.{name}")
    except ImportError:
        return None


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_parses_and_its_imports_exist(code: str) -> None:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            missing = [a.name for a in node.names if _imported(module, a.name) is None]
            assert not missing, f"`from {node.module} import` names what it does not have: {missing}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                importlib.import_module(a.name)


@pytest.mark.parametrize("code", SNIPPETS)
def test_snippet_calls_pass_arguments_the_functions_take(code: str) -> None:
    """A call of an imported function or class binds to its signature (keywords by name)."""
    tree = ast.parse(code)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            imported |= {a.asname or a.name: _imported(module, a.name) for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported:
            signature = inspect.signature(imported[node.func.id])
            args = [None] * sum(not isinstance(a, ast.Starred) for a in node.args)
            signature.bind(*args, **{k.arg: None for k in node.keywords if k.arg})
