"""Every script in benchmarks/ and scripts/ still fits the library: each ofa_edge name it imports
(lazy imports too) exists, and each call of an imported function or class, of a class's method, or of
an instance made in the same function, binds to the current signature. The scripts run rarely (some
only on a lent GPU), so a renamed or re-signed API would otherwise be found there, mid-lease."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPTS = sorted([*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "scripts").glob("*.py")])


def _resolve(module: str, name: str) -> object:
    """``from module import name``: an attribute, else a submodule (AttributeError if neither)."""
    mod = importlib.import_module(module)
    if hasattr(mod, name):
        return getattr(mod, name)
    try:
        return importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"{module} has no {name}") from None


def _imports(tree: ast.Module) -> tuple[dict[str, object], list[str]]:
    """The ofa_edge objects bound by the script's imports anywhere in it, and the imports that fail."""
    bound, wrong = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "ofa_edge":
            for alias in node.names:
                try:
                    bound[alias.asname or alias.name] = _resolve(node.module, alias.name)
                except (AttributeError, ImportError) as e:
                    wrong.append(f"line {node.lineno}: from {node.module} import {alias.name}: {e}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ofa_edge" and alias.asname:
                    bound[alias.asname] = importlib.import_module(alias.name)
    return bound, wrong


def _made(call: ast.expr, bound: dict[str, object]) -> type | None:
    """The class of what ``call`` returns, where it calls an imported class or a function annotated to return one."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if isinstance(func, ast.Name):
        obj = bound.get(func.id)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in bound:
        obj = getattr(bound[func.value.id], func.attr, None)
    else:
        return None
    if inspect.isclass(obj):
        return obj
    try:
        made = typing.get_type_hints(obj).get("return")
    except (NameError, TypeError, AttributeError):  # not a function, or it names what only type checkers import
        return None
    return made if inspect.isclass(made) else None


def _instances(tree: ast.Module, bound: dict[str, object]) -> dict[tuple[ast.AST, str], type]:
    """``name = <a call that makes a known class>``: the class of ``name`` in its function (or the module),
    where every assignment to it makes that class."""
    seen: dict[tuple[ast.AST, str], set] = {}
    for scope in _scopes(tree):
        for node in _own(scope):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                seen.setdefault((scope, node.targets[0].id), set()).add(_made(node.value, bound))
    return {key: next(iter(c)) for key, c in seen.items() if len(c) == 1 and None not in c}


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _scopes(tree: ast.Module) -> list[ast.AST]:
    """The module and each function in it: the scopes whose names :func:`_instances` tracks."""
    return [tree, *(n for n in ast.walk(tree) if isinstance(n, FUNCTIONS))]


def _own(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of ``scope`` outside the functions nested in it (those are scopes of their own)."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, FUNCTIONS):
            stack.extend(ast.iter_child_nodes(node))


def _callee(func: ast.expr, bound: dict[str, object], local: dict[str, type]) -> tuple[object, str, bool] | None:
    """What ``func`` names (an imported object, an attribute of one, an instance's method; None: something
    else), how to say it, and whether it is a plain function whose ``self`` the call does not pass."""
    if isinstance(func, ast.Name) and func.id in bound:
        return bound[func.id], func.id, False
    if isinstance(func, ast.Name) and func.id in local:
        return local[func.id].__call__, f"{local[func.id].__name__}.__call__", True
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    if func.value.id in local:
        cls = local[func.value.id]
        name = f"{cls.__name__}.{func.attr}"
        if not hasattr(cls, func.attr):
            return AttributeError, name, False
        return getattr(cls, func.attr), name, inspect.isfunction(inspect.getattr_static(cls, func.attr))
    if func.value.id in bound:
        owner, name = bound[func.value.id], f"{func.value.id}.{func.attr}"
        return (getattr(owner, func.attr), name, False) if hasattr(owner, func.attr) else (AttributeError, name, False)
    return None


def _wrong_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    bound, wrong = _imports(tree)
    instances = _instances(tree, bound)
    for scope in _scopes(tree):
        local = {name: cls for (s, name), cls in instances.items() if s is scope}
        for node in sorted(_own(scope), key=lambda n: getattr(n, "lineno", 0)):
            if not isinstance(node, ast.Call) or (found := _callee(node.func, bound, local)) is None:
                continue
            obj, name, unbound = found
            if obj is AttributeError:
                wrong.append(f"line {node.lineno}: no such attribute: {name}")
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                continue
            try:
                sig = inspect.signature(obj)
            except (TypeError, ValueError):
                continue  # a builtin or a module: nothing to bind
            try:
                sig.bind(*([None] if unbound else []), *node.args, **{k.arg: k.value for k in node.keywords})
            except TypeError as e:
                wrong.append(f"line {node.lineno}: {name}{sig}: {e}")
    return wrong


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_script_calls_the_library_as_it_is(path: Path) -> None:
    wrong = _wrong_calls(path)
    assert not wrong, f"{path.relative_to(ROOT)} no longer fits the library:\n" + "\n".join(wrong)


def test_every_script_imports() -> None:
    """Module-level code of every script runs (its imports, constants), all in one process."""
    code = (  # as `python script.py` runs it, but not as __main__; its folder first on sys.path (its siblings)
        "import os, runpy, sys\n"
        "for p in sys.argv[1:]:\n"
        "    sys.path.insert(0, os.path.dirname(p))\n"
        "    runpy.run_path(p, run_name='imported')\n"
        "    sys.path.pop(0)\n"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", code, *map(str, SCRIPTS)]
    done = subprocess.run(args, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
