"""MACs/params of concrete networks agree with the analytic cost model; ONNX export runs on ORT."""

from __future__ import annotations

import torch

from ofa_edge.export.verify import verify
from ofa_edge.latency.stats import robust_stats
from ofa_edge.prune.measure import count_macs, count_params, onnx_bytes, ort_latency
from ofa_edge.space import CostModel


def test_counts_match_cost_model(ofa_subnet) -> None:
    model, cfg = ofa_subnet
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    cost = CostModel(cfg.search_space, 10)
    assert count_macs(model, x) == cost.macs([cfg])[0]
    assert count_params(model) == cost.params([cfg])[0]


def test_onnx_export_verifies_and_times(ofa_subnet, tmp_path) -> None:
    model, cfg = ofa_subnet
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    onnx = onnx_bytes(model, cfg.resolution)
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx)
    assert verify(path, model, x).max_abs_diff < 1e-4
    for timed in (path, onnx):  # the file, or the bytes it holds
        lat = ort_latency(timed, x, runs=5, warmup=1)
        assert lat["median_ms"] > 0 and lat["runs"] == 5


def test_ort_latency_statistics_are_the_latency_packages(ofa_subnet, monkeypatch) -> None:
    """median/mean/std are robust_stats of the very samples timed (spied, not replaced)."""
    from ofa_edge.export import evaluate
    from ofa_edge.prune import measure

    model, cfg = ofa_subnet
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    seen = []

    def spy(samples):
        seen.append((samples.copy(), robust_stats(samples)))
        return seen[-1][1]

    monkeypatch.setattr(evaluate, "robust_stats", spy)
    lat = measure.ort_latency(onnx_bytes(model, cfg.resolution), x, runs=7, warmup=1)
    ((samples, stats),) = seen
    assert len(samples) == 7
    assert (lat["median_ms"], lat["mean_ms"], lat["std_ms"], lat["kept_runs"]) == (
        stats["median"],
        stats["mean"],
        stats["std"],
        stats["count"],
    )
    assert lat["min_ms"] == samples.min() <= lat["p10_ms"] <= lat["median_ms"]


def test_one_thread_times_the_calling_threads_cpu_time(ofa_subnet, monkeypatch) -> None:
    """On one thread ORT computes on the caller: its CPU time is the network's, whatever else runs (spied)."""
    from ofa_edge.export import evaluate
    from ofa_edge.prune import measure

    model, cfg = ofa_subnet
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    clocks = []
    real = evaluate.time_calls

    def spy(call, warmup, runs, clock_name="wall"):
        clocks.append(clock_name)
        return real(call, warmup, runs, clock_name)

    monkeypatch.setattr(evaluate, "time_calls", spy)
    lat = measure.ort_latency(onnx_bytes(model, cfg.resolution), x, runs=3, warmup=1)
    assert clocks == ["thread_cpu"] and lat["clock"] == "thread_cpu" and lat["median_ms"] > 0
