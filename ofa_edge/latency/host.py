"""What machine a measurement ran on, for provenance."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else lscpu, else the platform string."""
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5, check=False).stdout
        m = re.search(r"^Model name:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


# Vector-ISA features that change which kernels a runtime picks (and so relative block costs):
# x86 /proc/cpuinfo "flags", ARM "Features".
ISA_FEATURES = frozenset(
    {"avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8"}
    | {"asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2"}
)


def cpu_isa() -> str:
    """The CPU's vector-ISA features (space-separated, sorted); empty where /proc/cpuinfo is absent."""
    try:
        m = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        return ""
    return " ".join(sorted(ISA_FEATURES & set(m.group(1).split()))) if m else ""


def cpu_id() -> str:
    """The CPU's generation where the model name is generic ("AMD EPYC" covers Zen 1 to Zen 5):
    x86 ``family F model M``, ARM ``implementer I part P``; empty where /proc/cpuinfo is absent."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    fields = {}
    for name in ("cpu family", "model", "CPU implementer", "CPU part"):
        m = re.search(rf"^{name}\s*:\s*(\S+)", text, re.MULTILINE)
        if m:
            fields[name.removeprefix("CPU ").removeprefix("cpu ")] = m.group(1)
    return " ".join(f"{k} {v}" for k, v in fields.items())


def load_average() -> float | None:
    """1-minute load average (contention from other processes shows here)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def host_info() -> dict[str, object]:
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
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
