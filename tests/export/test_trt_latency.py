"""The bundle's ``check_latency.py`` (``ofa_edge/export/trt_latency.py``) on a machine that lacks what it needs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ofa_edge.export import trt_latency


@pytest.mark.skipif(not trt_latency.missing_modules(), reason="tensorrt and pycuda both import here")
def test_a_target_without_pycuda_or_tensorrt_is_told_what_to_install(tmp_path) -> None:
    """It died with a ModuleNotFoundError traceback (exit 1) naming neither how to install pycuda nor that
    ofa-edge's [tensorrt] extra does not bring it."""
    (tmp_path / "model.engine").write_bytes(b"engine")
    np.savez(tmp_path / "reference.npz", inputs=np.zeros((1, 3, 32, 32), np.float32), logits=np.zeros((1, 10)))
    run = subprocess.run(
        [sys.executable, trt_latency.__file__, "--bundle", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},  # standalone, as on the target: no ofa_edge on the path
        check=False,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    for name in trt_latency.missing_modules():
        assert name in run.stderr
    assert "pip install pycuda" in run.stderr and "trtexec" in run.stderr
