"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder. Nothing is half-written."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from typing_extensions import Self

from ofa_edge.errors import UserError
from ofa_edge.paths import work_dir, work_dir_origin

T = TypeVar("T")


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and rename the result over ``path`` only if it succeeds (temp files
    that killed writes of ``path`` left behind are deleted first)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write '{path}': it is a folder; pass the path of a file in it instead.")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _leftovers(path, (".tmp",)):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    with _errors_naming(path, Path(tmp)):
        try:
            writer(Path(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; give the file the usual permissions
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    fsync_dir(path.parent)


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # a write refused for want of space (or of quota)


@contextlib.contextmanager
def _errors_naming(target: Path, temp: Path) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (a ``write`` on a full disk) or the temporary ``temp`` (or a
    file in it), gone by the time the user reads the message, as naming ``target`` (or its file); others pass."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            where = target
        else:
            try:
                where = target / Path(e.filename).relative_to(temp)
            except ValueError:
                raise e from None
        raise OSError(e.errno, e.strerror, str(where)) from e


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable across a power loss (POSIX; skipped where a folder cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def umask() -> int:
    """The process's file-creation mask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    atomic_write(path, lambda p: p.write_text(text))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically. Safetensors files go through it (``safetensors.torch.save``, not
    ``save_file``): the writer of ``save_file`` reports a full disk as a ``SafetensorError``, not an ``OSError``."""
    atomic_write(path, lambda p: p.write_bytes(data))


def require_free_space(folder: Path, need: int, what: str, fix: str) -> None:
    """A :class:`UserError` before any work where the disk of ``folder`` (or of its nearest existing parent) has
    fewer than ``need`` bytes free for ``what``; ``fix`` names the other way out than freeing space."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < need:
        raise UserError(
            f"the disk of '{folder}' has {free / 1e6:,.0f} MB free, and {what} takes about {need / 1e6:,.0f} MB. Free "
            f"space on it, or {fix}."
        )


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


_SUFFIX_KINDS = {
    ".yaml": "a YAML file",
    ".yml": "a YAML file",
    ".safetensors": "a safetensors file",
    ".onnx": "an ONNX model",
    ".engine": "a TensorRT engine",
}


def file_kind(path: Path, doc: Any = None) -> str | None:
    """What a file passed where another was wanted is, for the message refusing it: by the ``format`` field of
    its JSON document ``doc`` ("an ofa-edge-slim/1 file"), by its shape ("a search report", "a subnet"), or,
    where it is no JSON (``doc`` None), by its suffix ("a YAML file"); None where none of these tells."""
    if not isinstance(doc, dict):
        return _SUFFIX_KINDS.get(path.suffix.lower()) if doc is None else None
    fmt = doc.get("format")
    if isinstance(fmt, str):
        return f"an {fmt} file" if fmt.startswith("ofa-edge-") else f"a file of format {fmt!r}"
    if isinstance(doc.get("subnet"), dict):
        return "a search report"
    return "a subnet" if "resolution" in doc and "depth" in doc else None


def refuse_file(out: str | Path, what: str) -> None:
    """A :class:`UserError` if ``out``, the ``--out`` folder for ``what``, is an existing file."""
    if Path(out).exists() and not Path(out).is_dir():
        raise UserError(f"--out '{out}' is a file; pass a folder for {what}.")


def check_output_folder(out: str | Path, owned: Sequence[str], kind: str, *, replaced: bool = False) -> Path:
    """``out`` as an absolute path, or a :class:`UserError` before any work if it cannot receive
    ``kind``: a file there, a non-empty folder holding none of the ``owned`` file names (somebody
    else's folder, never overwritten), a parent that cannot be written (or is a file), or, where ``kind``
    ``replaced`` the folder whole (:func:`staged_dir`), a mount point (a folder no rename can replace).

    Nothing is created: the folders ``out`` lacks are made when it is written, so a command that
    refuses another option after this check leaves no empty folders behind."""
    out = Path(out).expanduser().absolute()
    refuse_file(out, kind)
    if replaced and os.path.ismount(out):
        raise UserError(
            f"--out '{out}' is a mount point, and {kind} is written by replacing its folder whole (a rename), which "
            f"a mount point refuses. Pass a new folder inside it (--out {out / 'NAME'})."
        )
    if out.is_dir() and any(not is_stage(p) for p in out.iterdir()) and not any((out / n).is_file() for n in owned):
        raise UserError(
            f"output folder '{out}' is not empty and is not {kind}; refusing to overwrite it. "
            "Pass --out with a new or empty folder."
        )
    if (why := unwritable(out.parent)) is not None:
        raise UserError(f"cannot write {kind} to '{out}' ({why}); pass a writable --out.")
    return out


def check_work_dir() -> Path:
    """The work folder, or a :class:`UserError` before any work where the notes a command
    leaves there for the next (``last_search.json``, ``last_profile.json``) could not be written."""
    folder = work_dir()
    if (why := unwritable(folder)) is not None:
        raise UserError(
            f"cannot write ofa-edge's work folder '{folder}' (from {work_dir_origin()}): {why}. It keeps the last search "
            "and profile for the next command; set OFA_EDGE_HOME to a writable folder."
        )
    return folder


def unwritable(folder: Path) -> str | None:
    """Why files cannot be made in ``folder``, or in the folders a write will make there (nothing is made now): a
    file on its path, no permission, a read-only disk; None where they can."""
    base = next(p for p in (folder, *folder.parents) if p.exists())
    if not base.is_dir():
        return f"'{base}' is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as e:
        return str(e.strerror or e)
    return None


@contextlib.contextmanager
def staged_dir(out: Path, keep: Callable[[str], bool] = lambda _name: False) -> Iterator[Path]:
    """Yield a temporary sibling folder of ``out`` (its missing parent folders made); on success it replaces
    ``out``, on any error it is deleted and ``out`` stays as it was (the parent folders it made go again, empty:
    :func:`made_folder`).

    Files already in ``out`` whose name ``keep`` accepts (a run's resume state) are hard-linked
    into the stage first, so they survive the swap. The swap is two renames (``out`` aside, the stage
    in); an error or Ctrl-C between them puts ``out`` back, and what a kill leaves (the stage, or
    ``out`` set aside) is cleaned up, or put back, by the next call for the same ``out``.
    """
    with made_folder(out.parent):
        stage = _new_stage(out)
        aside = out.with_name(f".{out.name}.{os.getpid()}.old")
        with _errors_naming(out, stage):
            try:
                if out.is_dir():
                    for f in out.iterdir():
                        if f.is_file() and keep(f.name):
                            _link_or_copy(f, stage / f.name)
                yield stage
                _sync_files(stage)  # what the caller wrote, made durable before anything is swapped
                with signals_deferred():
                    if out.exists():
                        os.replace(out, aside)
                    os.replace(stage, out)
                fsync_dir(out.parent)
            except BaseException:
                if aside.exists() and not out.exists():
                    os.replace(aside, out)
                shutil.rmtree(stage, ignore_errors=True)
                raise
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staged_files(out: Path) -> Iterator[Path]:
    """Yield a temporary folder inside ``out`` (``out`` made if missing); on success each file written there replaces
    its namesake in ``out``, on any error the stage is deleted and ``out`` stays as it was (or is not made).

    Unlike :func:`staged_dir`, ``out`` stays in place with everything else in it (a user's notes, a journal
    that other processes append to): the files are all written and synced before the first rename, so a full
    disk or an error leaves the old set whole. The stage lies inside ``out``, so its renames stay on one disk where
    ``out`` is a mount point of another. Ctrl-C and SIGTERM wait for the renames (:func:`signals_deferred`); only a
    kill that cannot be caught (SIGKILL, a power loss) during them can mix the sets: readers check that the files
    agree where it matters (``export`` uses a ``search.json`` only beside the ``subnet.json`` it chose).
    """
    with made_folder(out):
        stage = _new_stage(out / STAGE_NAME)
        try:
            with _errors_naming(out, stage):
                yield stage
                _sync_files(stage)
                with signals_deferred():
                    for f in stage.iterdir():
                        os.replace(f, out / f.name)
                fsync_dir(out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def made_folder(out: Path) -> Iterator[Path]:
    """``out``, made with its missing parents for the block; on any error those of them it made that are still
    empty go again: a failed first write (a full disk, Ctrl-C) leaves no empty ``--out`` behind."""
    made = missing_folders(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield out
    except BaseException:
        remove_empty(made)
        raise


def missing_folders(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist, innermost first: what ``mkdir(parents=True)`` makes."""
    return [p for p in (path, *path.parents) if not p.exists()]


def remove_empty(folders: Sequence[Path]) -> None:
    """Remove those of ``folders`` (innermost first) that are empty; one holding anything stays, as its parents do."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


STAGE_NAME = "staged"  # staged_files' stages in ``out``: ``.staged.<pid>.<random>.partial``


def is_stage(path: Path) -> bool:
    """Whether ``path``, an entry of an output folder, is a :func:`staged_files` stage (a write in progress,
    or one a kill left: not the user's)."""
    return path.name.startswith(f".{STAGE_NAME}.") and path.name.endswith(".partial")


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them: for renames that must all happen (from
    the main thread only, where Python runs its signal handlers; elsewhere the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not None]  # None: not Python's
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in caught:
            signal.raise_signal(s)


def read_consistent(folder: Path, read: Callable[[], T], tries: int = 3) -> T:
    """``read()``, which reads files of ``folder``, a folder its writer replaces whole (:func:`staged_dir`), with no
    lock: the writer's is held for its whole run. Where ``folder`` was replaced meanwhile (another folder under its
    name: what was read may mix two writes, or failed halfway), it is read again."""
    for _ in range(tries):
        before = _identity(folder)
        try:
            value = read()
        except Exception:
            if _identity(folder) == before:
                raise
            continue
        if _identity(folder) == before:
            return value
    raise UserError(
        f"'{folder}' was replaced {tries} times while it was read: another ofa-edge command is writing it. Wait for "
        "it to finish, then run this command again."
    )


def _identity(folder: Path) -> tuple[int, int] | None:
    """The device and inode of ``folder`` (None where it is missing: set aside while it is being replaced)."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _new_stage(out: Path) -> Path:
    """An empty stage folder beside ``out`` (in its parent, which the caller made: :func:`made_folder`; what killed
    stages of it left cleaned up first: :func:`recover_staged`), with the permissions of an ordinary new folder."""
    recover_staged(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".partial", dir=out.parent))
    os.chmod(stage, 0o777 & ~umask())  # mkdtemp makes 0700; outputs are meant to be shared
    return stage


def _sync_files(folder: Path) -> None:
    """fsync every file in ``folder``, so that renaming them cannot expose unwritten data after a power loss."""
    for f in folder.iterdir():
        if f.is_file():
            with open(f, "rb") as handle:
                os.fsync(handle.fileno())


def recover_staged(out: Path) -> None:
    """Undo what a killed :func:`staged_dir` left beside ``out``: put ``out`` back from the copy set
    aside if ``out`` is missing, and delete stale stages and copies (those of processes no longer running)."""
    leftovers = [p for p in _leftovers(out, (".old", ".partial")) if p.is_dir()]
    for p in sorted(leftovers, key=lambda p: p.stat().st_mtime, reverse=True):
        if p.suffix == ".old" and not out.exists():
            os.replace(p, out)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _leftovers(target: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Temporaries of ``target`` (``.<name>.<pid>.…<suffix>`` beside it) whose process no longer runs."""
    found = []
    for p in target.parent.glob(f".{glob.escape(target.name)}.*"):
        pid = p.name[len(target.name) + 2 :].split(".")[0]
        if p.suffix in suffixes and pid.isdigit() and not _running(int(pid)):
            found.append(p)
    return found


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (elsewhere than on POSIX: assumed, so nothing is deleted)."""
    if os.name != "posix" or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a filesystem without hard links
        shutil.copy2(src, dst)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class HeldLock:
    """An exclusive lock on a file (:func:`hold_lock`), held until :meth:`release` or until the process
    ends, even killed; a ``with`` block releases it."""

    def __init__(self, path: Path, handle: IO[str] | None, made: Sequence[Path] = ()) -> None:
        self.path, self._handle, self._made = path, handle, made

    def release(self) -> None:
        """Let the next holder in and remove the lock file (removed while still held, so a process that
        opened it meanwhile sees it gone and takes a new one), and the folders made for it if they stayed empty
        (a refused run leaves nothing behind)."""
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._handle.close()
        self._handle = None
        remove_empty(self._made)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def hold_lock(path: Path, busy: str, *, wait: bool = False) -> HeldLock:
    """An exclusive lock on the file ``path`` (created, with this process's id in it); ``busy`` (its ``{pid}``
    replaced by the holder's) is the :class:`UserError` when another process holds it, or with ``wait`` the
    lock is taken once the other lets it go. Where the platform has no ``flock`` (Windows) the lock holds nothing."""
    try:
        import fcntl
    except ImportError:  # Windows
        return HeldLock(path, None)
    made = missing_folders(path.parent)
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            held = open(path, "a+")  # noqa: SIM115 (open for as long as the lock is held)
        except FileNotFoundError:  # another holder removed the folder it had made between our mkdir and open
            continue
        try:
            fcntl.flock(held, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.seek(0)
            pid = held.read().strip() or "?"
            held.close()
            raise UserError(busy.replace("{pid}", pid)) from None  # not format(): a path in it may hold braces
        try:  # the last holder may have removed the file between our open and flock: lock the one there now
            if os.path.samestat(os.fstat(held.fileno()), os.stat(path)):
                break
        except FileNotFoundError:
            pass
        held.close()
    lock = HeldLock(path, held, made)
    try:  # unbuffered: a full disk fails here, not again when the lock is released
        held.truncate(0)
        os.write(held.fileno(), f"{os.getpid()}\n".encode())
    except OSError as e:
        lock.release()
        raise OSError(e.errno, e.strerror, str(path)) from e
    return lock
