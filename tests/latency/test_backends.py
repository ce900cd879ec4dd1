"""Backend contract: every backend that runs here returns real positive timings; absent ones
say why and how to install them, and are never faked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.errors import UserError
from ofa_edge.latency.backends import OnnxRuntimeBackend, TensorRTBackend, TorchBackend, require_backend
from ofa_edge.latency.blocks import build_for_key
from ofa_edge.latency.devices import load_device
from ofa_edge.onnx_bridge import torch_to_onnx
from ofa_edge.paths import SHIPPED_DEVICES

KEY = "mb-i8x8x40-o40-m120-k5-s1-se1-relu-id1"
BACKENDS = [
    OnnxRuntimeBackend("cpu", 1, "fp32"),
    OnnxRuntimeBackend("cpu", 1, "fp32", clock="thread_cpu"),
    OnnxRuntimeBackend("xnnpack", 1, "fp32"),
    OnnxRuntimeBackend("cuda", 1, "fp16"),
    OnnxRuntimeBackend("tensorrt", 1, "fp16"),
    TorchBackend("cpu", cuda_graphs=False, precision="fp32"),
    TorchBackend("cuda", cuda_graphs=True, precision="fp16"),
    TensorRTBackend("fp16"),
]


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: f"{b.name}-{b.clock_name}")
def test_backend_contract(backend):
    why = backend.absent()
    if why:
        assert "install" in why or "needs" in why or "no " in why
        pytest.skip(f"{backend.name} absent here: {why}")
    module, shape = build_for_key(KEY)
    samples = backend.prepare(module, (1, *shape))(2, 5)
    assert samples.shape == (5,) and np.all(samples > 0) and np.all(samples < 1000)
    assert backend.version()


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: f"{b.name}-{b.clock_name}")
def test_a_backend_that_takes_fp32_onnx_times_a_ready_export_of_any_input_name(backend):
    if backend.absent() or not backend.takes_fp32_onnx():
        pytest.skip(f"{backend.name} is absent here or exports in its own precision")
    module, shape = build_for_key(KEY)
    ready = torch_to_onnx(module, torch.randn(1, *shape), input_name="input")  # export's and prune's input name
    samples = backend.prepare(ready, (1, *shape))(2, 5)
    assert samples.shape == (5,) and np.all(samples > 0)


def test_absent_runtimes_name_the_install_step():
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        assert "pip install tensorrt" in TensorRTBackend().absent()
    if not torch.cuda.is_available():
        assert "CUDA" in TorchBackend("cuda").absent()
    assert OnnxRuntimeBackend("cpu", 2, clock="thread_cpu").absent()  # CPU time of one thread only


def test_thread_cpu_clock_tracks_work_not_waiting():
    """The CPU-time clock measures the computation: a bigger block takes longer on it."""
    b = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    small, s_shape = build_for_key("mb-i4x4x160-o160-m480-k3-s1-se1-hswish-id1")
    big, b_shape = build_for_key("mb-i32x32x64-o64-m384-k7-s1-se0-relu-id1")  # ~25x the MACs
    assert np.median(b.prepare(big, (1, *b_shape))(2, 9)) > 3 * np.median(b.prepare(small, (1, *s_shape))(2, 9))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_timers_outlive_other_graphs_and_their_modules():
    """Timers prepared together stay valid when other graphs are destroyed and the caller
    drops its modules (the e2e validation keeps 20 alive; it once hit an illegal address)."""
    backend = TorchBackend("cuda", cuda_graphs=True, precision="fp16")
    timers = [
        backend.prepare(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 10)), (1, 3, 4, 4))
        for _ in range(4)
    ]
    del timers[0]  # destroys one graph captured on the backend
    for timer in timers:
        assert np.all(timer(1, 3) > 0)
    torch.cuda.synchronize()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_gpu_device_is_timed_only_on_its_gpu():
    """On a GPU, profiling a shipped GPU device of another model is refused, naming the one that fits."""
    here = torch.cuda.get_device_name()
    for name in ("h100", "h200"):
        dev = load_device(name)
        if dev.accelerator_mismatch(here) is None:
            assert require_backend(dev).accelerator() == here
        else:
            with pytest.raises(UserError, match=f"this machine's is an {here}"):
                require_backend(dev)


def test_a_device_whose_runtime_is_absent_is_sent_to_its_measured_table_not_to_an_estimate(tables_dir, monkeypatch):
    """`profile --device h100` without a GPU said to use `ofa-edge profile --device h100 --estimate`, which exits 2
    (an estimate would hide h100's measured table from search); search uses that measured table as it is."""
    from ofa_edge.latency import backends

    class Absent(OnnxRuntimeBackend):
        def absent(self) -> str:
            return "its runtime is not installed here"

    monkeypatch.setattr(backends, "backend_for", lambda device, threads=None: Absent("cpu", 1, "fp32"))
    with pytest.raises(UserError, match="its runtime is not installed here") as e:
        require_backend(load_device("h100"))
    assert "--estimate" not in str(e.value) and "latency_tables/h100.json" in str(e.value)
    shipped = (SHIPPED_DEVICES / "x86-cpu.yaml").read_text()
    (tables_dir.parent / "devices" / "new-board.yaml").write_text(shipped.replace("name: x86-cpu", "name: new-board"))
    with pytest.raises(UserError, match="`ofa-edge profile --device new-board --estimate`"):
        require_backend(load_device("new-board"))  # no table at all: an estimate is the way


def test_require_backend_takes_a_device_name_as_load_device_does():
    """``require_backend("x86-cpu")`` failed with AttributeError: 'str' object has no attribute 'arch_mismatch'."""
    assert require_backend("x86-cpu", 1).name == require_backend(load_device("x86-cpu"), 1).name
    with pytest.raises(UserError, match="unknown device 'x86-cpuu'. Did you mean 'x86-cpu'"):
        require_backend("x86-cpuu")
