import numpy as np

from ofa_edge.search.predictor import AccuracyPredictor
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.genome import sample

SPACE = "mbv3-w1.0-cifar"


def test_fit_reports_heldout_quality_and_round_trips(tmp_path):
    """A smooth target (log MACs) is learnable: held-out RMSE small, Kendall tau high; the saved
    safetensors file predicts exactly the same numbers."""
    sp = SearchSpace.get(SPACE)
    cost = CostModel(sp, 10)
    g = sample(sp, 250, np.random.default_rng(0))
    y = 60 + 8 * np.log(cost.macs(g) / 5e7)
    pred = AccuracyPredictor.fit(sp, g, y, epochs=40, seed=0)
    r = pred.report
    assert r.n_train == 200 and r.n_test == 50
    assert r.rmse < 0.5 * y.std() and r.kendall_tau > 0.6
    pred.save(tmp_path / "p.safetensors", {"note": "x"})
    back = AccuracyPredictor.load(tmp_path / "p.safetensors")
    test = sample(sp, 1000, np.random.default_rng(1))
    np.testing.assert_array_equal(back.predict(test), pred.predict(test))
    assert back.report == r and back.meta["note"] == "x"
    assert len(back.weights) == 4 and back.weights[1].shape == (128, 128)
