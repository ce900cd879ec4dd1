"""End-to-end timing of whole subnets: real ONNX Runtime runs, stored and resumed."""

from __future__ import annotations

import json

import numpy as np

from ofa_edge.latency.backends import OnnxRuntimeBackend
from ofa_edge.latency.blocks import random_subnets
from ofa_edge.latency.e2e import measure_subnets


def test_subnets_are_timed_once_and_resumed(tmp_path):
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    store = tmp_path / "e2e.json"
    cfgs = random_subnets("mbv3-w1.0-cifar", [24], 3, seed=0)
    kw = dict(num_classes=10, batch=1, warmup=1, repeats=3, store=store)
    first = measure_subnets(backend, cfgs[:2], **kw)
    assert first.shape == (2,) and np.all(first > 0)
    stored = json.loads(store.read_text())["entries"]
    assert stored[cfgs[0].to_json()]["count"] >= 1
    calls = []
    both = measure_subnets(backend, cfgs, on_done=lambda i, n: calls.append(i), **kw)
    assert np.array_equal(both[:2], first)  # not re-timed
    assert len(json.loads(store.read_text())["entries"]) == 3 and calls[-1] == 3
