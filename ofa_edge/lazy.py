"""Names a package exports but imports on first use (PEP 562), so importing the package, or one of its
light modules, does not import torch or ONNX."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``where`` (name -> module) is imported from
    its module when first asked for, then kept as the package's attribute. The package's ``__dir__`` is set
    to list them before then too (what ``dir()`` and a notebook's completion show)."""
    module = sys.modules[package]
    module.__dir__ = lambda: sorted(set(vars(module)) | set(where))  # type: ignore[method-assign]

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        setattr(module, name, value)
        return value

    return __getattr__
