"""End-to-end timing of whole subnets: real ONNX Runtime runs, stored and resumed."""

from __future__ import annotations

import json

import numpy as np

from ofa_edge.latency.backends import OnnxRuntimeBackend
from ofa_edge.latency.blocks import random_subnets
from ofa_edge.latency.e2e import measure_subnets


def test_subnets_are_timed_once_and_resumed(tmp_path, monkeypatch):
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    prepared = []
    real_prepare = backend.prepare
    monkeypatch.setattr(backend, "prepare", lambda *a: prepared.append(a) or real_prepare(*a))
    store = tmp_path / "e2e.json"
    cfgs = random_subnets("mbv3-w1.0-cifar", [24], 3, seed=0)
    kw = {"num_classes": 10, "batch": 1, "warmup": 1, "repeats": 3, "store": store}
    first = measure_subnets(backend, cfgs[:2], **kw)
    assert first.shape == (2,) and np.all(first > 0)
    assert len(prepared) == 2  # one group: its second pass times the sessions of the first
    stored = json.loads(store.read_text())["entries"]
    entry = stored[cfgs[0].to_json()]
    assert len(entry["passes"]) == 2 and entry["passes"][0]["count"] >= 1
    assert entry["median"] == np.mean([p["median"] for p in entry["passes"]])
    calls = []
    both = measure_subnets(backend, cfgs, on_done=lambda i, n: calls.append(i), **kw)
    assert np.array_equal(both[:2], first)  # not re-timed
    assert len(json.loads(store.read_text())["entries"]) == 3 and calls == [5, 6]  # one subnet, two passes


def test_an_interrupted_second_pass_is_finished_not_restarted(tmp_path):
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    store = tmp_path / "e2e.json"
    cfgs = random_subnets("mbv3-w1.0-cifar", [24], 2, seed=4)
    kw = {"num_classes": 10, "batch": 1, "warmup": 1, "repeats": 2, "store": store}
    one = measure_subnets(backend, cfgs, passes=1, **kw)  # as if stopped after the first pass
    two = measure_subnets(backend, cfgs, passes=2, **kw)
    entries = json.loads(store.read_text())["entries"]
    for c, m1 in zip(cfgs, one, strict=True):
        passes = entries[c.to_json()]["passes"]
        assert len(passes) == 2 and passes[0]["median"] == m1  # the first pass kept as measured
    assert np.allclose(two, [np.mean([p["median"] for p in entries[c.to_json()]["passes"]]) for c in cfgs])


def test_an_unreadable_store_is_timed_again(tmp_path):
    store = tmp_path / "e2e.json"
    store.write_text("{ not json")
    cfgs = random_subnets("mbv3-w1.0-cifar", [24], 1, seed=0)
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    got = measure_subnets(backend, cfgs, num_classes=10, batch=1, warmup=1, repeats=3, store=store, passes=1)
    assert got.shape == (1,) and got[0] > 0 and cfgs[0].to_json() in json.loads(store.read_text())["entries"]
