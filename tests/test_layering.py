"""The package layout is the pipeline: a stage imports the stages before it, never one after it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ofa_edge"
# Foundation modules (errors, io, units, paths, host, onnx_bridge) come before every stage.
STAGES = ["data", "space", "supernet", "train", "latency", "search", "export", "prune", "cli"]
# Known edges against the order, each with its reason; a new one must be argued here.
ALLOWED = {
    ("export", "prune"): "export also ships networks that `ofa-edge prune` slimmed (load_slim, count_macs)",
    ("host", "latency"): "check_torch_device names a latency device given where a torch device goes",
}


def _rank(part: str) -> int:
    return STAGES.index(part) if part in STAGES else -1  # -1: a foundation module


def _imported_parts(path: Path) -> set[str]:
    """The first component under ``ofa_edge`` of every module that ``path`` imports (lazy imports too)."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] == "ofa_edge" and len(bits) > 1:
                parts.add(bits[1])
    return parts


def test_no_stage_imports_a_later_stage() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if str(rel) in ("__init__.py", "__main__.py"):
            continue  # the public API and the entry point gather every stage
        own = rel.parts[0].removesuffix(".py")
        for part in _imported_parts(path):
            if part != own and _rank(part) > _rank(own) and (own, part) not in ALLOWED:
                wrong.append(f"{rel} imports ofa_edge.{part}")
    assert not wrong, "imports against the pipeline order " + " → ".join(STAGES) + ":\n" + "\n".join(wrong)


def test_allowed_exceptions_are_still_needed() -> None:
    edges = {
        (path.relative_to(PACKAGE).parts[0].removesuffix(".py"), part)
        for path in PACKAGE.rglob("*.py")
        for part in _imported_parts(path)
    }
    assert set(ALLOWED) <= edges, f"no longer imported, drop from ALLOWED: {set(ALLOWED) - edges}"
