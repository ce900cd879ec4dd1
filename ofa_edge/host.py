"""What machine a measurement ran on, for provenance, and whether a --device can run here."""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ofa_edge.errors import UserError

# The provenance fields that say which CPU a table was measured on: the model name is not
# enough ("AMD EPYC" covers Zen 1 to Zen 5), so its generation and vector ISA go with it.
CPU_FIELDS = ("host_cpu", "host_cpu_id", "host_isa")

# Vector-ISA features that change which kernels a runtime picks (and so relative block costs):
# x86 /proc/cpuinfo "flags", ARM "Features".
ISA_FEATURES = frozenset(
    {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8"}
    | {"asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2"}
)


@functools.cache
def _cpuinfo() -> str:
    """/proc/cpuinfo, read once per process ("" where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpuinfo_field(name: str) -> str | None:
    """The first value of ``name`` in /proc/cpuinfo."""
    m = re.search(rf"^{name}\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    return m.group(1).strip() if m else None


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else lscpu, else the platform string."""
    name = _cpuinfo_field("model name")
    if name:
        return name
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5, check=False).stdout
        m = re.search(r"^Model name:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def cpu_isa() -> str:
    """The CPU's vector-ISA features (space-separated, sorted); empty where /proc/cpuinfo is absent."""
    flags = _cpuinfo_field("flags") or _cpuinfo_field("Features") or ""
    return " ".join(sorted(ISA_FEATURES & set(flags.split())))


def cpu_id() -> str:
    """The CPU's generation: x86 ``family F model M``, ARM ``implementer I part P``; empty where
    /proc/cpuinfo is absent."""
    fields = {"family": "cpu family", "model": "model", "implementer": "CPU implementer", "part": "CPU part"}
    found = ((label, _cpuinfo_field(name)) for label, name in fields.items())
    return " ".join(f"{label} {value}" for label, value in found if value)


def load_average() -> float | None:
    """1-minute load average (contention from other processes shows here)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def host_info() -> dict[str, object]:
    """Where a measurement ran: host name, CPU model, generation and vector ISA, cores, OS, Python."""
    return {
        "host": platform.node(),
        "host_cpu": cpu_model(),
        "host_cpu_id": cpu_id(),
        "host_isa": cpu_isa(),
        "host_cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def now_utc() -> str:
    """The time now in UTC, ISO 8601 to the second (provenance dates)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cpu_run_header() -> dict[str, object]:
    """Where and when a CPU benchmark ran: date, CPU model, torch's threads and version (its results JSON
    starts with these)."""
    import torch  # only benchmarks ask: the CLI's start does not pay for torch

    return {"date": now_utc(), "cpu": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__}


def resolve_torch_device(device: str = "auto") -> str:
    """``device`` with ``auto`` resolved: ``cuda`` where torch sees a GPU, else ``cpu``."""
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_torch_device(device: str) -> None:
    """Raise a :class:`UserError` unless ``device`` (``--device``: auto, cpu, cuda, cuda:N) can run here."""
    import torch

    if device not in ("auto", "cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdecimal()):
        from ofa_edge.latency.devices import known_devices

        hint = ""
        if device in known_devices():
            hint = f" '{device}' is a latency device: it goes to profile, search and prune's --device."
        raise UserError(f"--device must be cpu, cuda, cuda:N or auto, got '{device}'.{hint}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"--device {device} was asked for but CUDA is not available here (no GPU or a CPU-only torch); "
            "use --device cpu."
        )
    if device.startswith("cuda:"):
        index, count = device.removeprefix("cuda:"), torch.cuda.device_count()
        if int(index) >= count:
            raise UserError(f"--device {device}: this machine has {count} GPU(s), cuda:0 to cuda:{count - 1}.")
