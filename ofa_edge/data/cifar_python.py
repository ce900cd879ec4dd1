"""torchvision's CIFAR-10/100 folders (``cifar-10-batches-py``, ``cifar-100-python``), read without
unpickling.

Those files are pickles of dicts holding a numpy array (the images) and lists (labels, class
names). Unpickling runs whatever callables a file names, so ofa-edge never does it: it walks the
opcode stream as data (:func:`pickletools.genops`), builds the plain values (strings, numbers,
lists, tuples, dicts) and records every call a file asks for as a :class:`Call` that is never
made. A CIFAR array is then rebuilt from the raw bytes its ``numpy ... _reconstruct`` call carries,
after checking that call has the shape and dtype CIFAR's arrays have.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ofa_edge.data.formats import FOLDERS, cifar_split_files
from ofa_edge.data.packed_jpeg import ImageSet
from ofa_edge.errors import UserError

_STRINGS = {
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}  # fmt: skip
_NUMBERS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT"}
_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET = {"GET", "BINGET", "LONG_BINGET"}


@dataclass
class Call:
    """A call the pickle asks for (``module name`` with ``args``), recorded and never made."""

    target: str
    args: tuple = ()
    state: Any = None


class _Mark:
    """The stack marker MARK pushes."""


def walk_pickle(raw: bytes, what: str) -> Any:
    """The value a pickle describes, with every call left as a :class:`Call` (nothing is executed)."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list[Any]:
        i = len(stack) - 1
        while not isinstance(stack[i], _Mark):
            i -= 1
        items = stack[i + 1 :]
        del stack[i:]
        return items

    try:
        for op, arg, _ in pickletools.genops(raw):
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                return stack.pop()
            if name == "MARK":
                stack.append(_Mark())
            elif name in _STRINGS or name in _NUMBERS:
                stack.append(arg)
            elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
                stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
            elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE"):
                stack.append({"EMPTY_LIST": [], "EMPTY_DICT": {}, "EMPTY_TUPLE": ()}[name])
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name == "LIST":
                stack.append(pop_mark())
            elif name == "DICT":
                items = pop_mark()
                stack.append(dict(zip(items[::2], items[1::2], strict=True)))
            elif name == "APPEND":
                value = stack.pop()
                stack[-1].append(value)
            elif name == "APPENDS":
                items = pop_mark()
                stack[-1].extend(items)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                stack[-1][_text(key)] = value
            elif name == "SETITEMS":
                items = pop_mark()
                stack[-1].update({_text(k): v for k, v in zip(items[::2], items[1::2], strict=True)})
            elif name == "GLOBAL":
                stack.append(Call(str(arg).replace("\n", " ")))
            elif name == "STACK_GLOBAL":
                qualname, module = stack.pop(), stack.pop()
                stack.append(Call(f"{module} {qualname}"))
            elif name in ("REDUCE", "NEWOBJ"):
                args, target = stack.pop(), stack.pop()
                stack.append(Call(target.target, tuple(args)))
            elif name == "BUILD":
                state = stack.pop()
                stack[-1].state = state
            elif name in _PUT:
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in _GET:
                stack.append(memo[arg])
            else:
                raise ValueError(f"opcode {name} is not used by CIFAR's files")
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as e:
        raise UserError(f"{what} is malformed or not a CIFAR pickle ({e}).") from None
    raise UserError(f"{what} is truncated (no STOP opcode).")


def _raw_bytes(value: Any) -> bytes | None:
    """The bytes a pickled string holds: BINBYTES arrive as bytes, Python 2's BINSTRING as latin-1
    text, and Python 3's protocol-2 bytes as a ``_codecs encode`` call; ``None`` for anything else."""
    if isinstance(value, Call) and value.target == "_codecs encode" and len(value.args) == 2:
        return value.args[0].encode(value.args[1])
    if isinstance(value, str):
        return value.encode("latin1")
    return bytes(value) if isinstance(value, (bytes, bytearray)) else None


def _text(value: Any) -> Any:
    """Dict keys and class names as ``str`` (Python 2's str and Python 3's bytes arrive otherwise)."""
    raw = None if isinstance(value, str) else _raw_bytes(value)
    return value if raw is None else raw.decode("latin1")


def _uint8_rows(value: Any, what: str) -> np.ndarray:
    """The (N, 3072) uint8 array that ``numpy ... _reconstruct`` plus its state describe, from its raw bytes."""
    ok = isinstance(value, Call) and value.target.endswith("multiarray _reconstruct")
    state = value.state if ok else None
    # state: (version, shape, dtype, fortran order, raw bytes); the dtype is a numpy.dtype('u1') call
    if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], Call)):
        raise UserError(f"{what}: 'data' is not a numpy array as CIFAR stores it.")
    _, shape, dtype, fortran, raw = state
    raw = _raw_bytes(raw)
    if dtype.args[:1] not in (("u1",), (b"u1",)) or fortran or len(shape) != 2 or shape[1] != 3072:
        raise UserError(f"{what}: 'data' has dtype {dtype.args[:1]} and shape {shape}; CIFAR's is uint8 (N, 3072).")
    if raw is None or len(raw) != shape[0] * 3072:
        raise UserError(
            f"{what}: 'data' does not hold the {shape[0] * 3072} bytes of shape {shape}; the file is truncated."
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def _fields(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"CIFAR file '{path}' is missing; re-extract the archive torchvision downloaded.")
    doc = walk_pickle(path.read_bytes(), f"'{path}'")
    if not isinstance(doc, dict):
        raise UserError(f"'{path}' does not hold a dict as CIFAR's files do.")
    return doc


def load_cifar_python(folder: Path, kind: str, split: str) -> ImageSet:
    """``split`` of a torchvision CIFAR-10/100 folder as uint8 images, labels and class names."""
    train_files, test_files, label_key, meta_file, names_key = FOLDERS[kind]
    files = cifar_split_files(train_files, test_files, split)
    rows, labels = [], []
    for name in files:
        path = folder / name
        doc = _fields(path)
        if "data" not in doc or label_key not in doc:
            raise UserError(f"'{path}' lacks '{'data' if 'data' not in doc else label_key}'; it is not a CIFAR batch.")
        data = _uint8_rows(doc["data"], f"'{path}'")
        if len(doc[label_key]) != len(data):
            raise UserError(f"'{path}' has {len(doc[label_key])} labels for {len(data)} images.")
        rows.append(data)
        labels.extend(doc[label_key])
    classes = [_text(c) for c in _fields(folder / meta_file).get(names_key, [])]
    images = torch.from_numpy(np.concatenate(rows).reshape(-1, 3, 32, 32).copy())
    return ImageSet(images, torch.tensor(labels, dtype=torch.int64), classes, split)  # load_dataset checks the labels
