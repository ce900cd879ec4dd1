"""The SpFDE lever in the trainer's hook order, and its state through a training checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.data.transforms import normalize
from ofa_edge.errors import UserError
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.checkpointing import load_checkpoint, save_checkpoint
from ofa_edge.train.distill import ce_loss
from ofa_edge.train.spfde import FreezeConfig, SieveConfig, SparsityConfig, SpfdeConfig, SpfdeLever

SPACE = "mbv3-w1.0-cifar"
CFG = SpfdeConfig(
    SparsityConfig(0.5, "2:4", interval=1, grow="random"),
    FreezeConfig(start=1, interval=1, flops_target=0.05),
    SieveConfig(0.25, interval=1),
)
N = 32  # examples in the toy epoch, 4 per step


def _setup(seed=0):
    torch.manual_seed(seed)
    net = Supernet(SPACE)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    lever = SpfdeLever(CFG, epochs=6, seed=7)
    return net, opt, lever


def _epoch(net, opt, lever, epoch, data):
    order = lever.epoch_order(epoch, torch.randperm(N, generator=torch.Generator().manual_seed(epoch)))
    assert len(order) == lever.epoch_size(N) == N - 8
    lever.on_epoch_start(epoch, net)
    x_all = normalize(data.images[:N], net.space.mean, net.space.std)
    for step in range(2):
        idx = order[step * 4 : (step + 1) * 4]
        net.set_active(net.space.min(32))
        torch.manual_seed(epoch * 100 + step)  # dropout, as the trainer seeds it per iteration
        opt.zero_grad(set_to_none=True)
        out = net(x_all[idx])
        ce_loss(out, data.labels[idx], 0.1).backward()
        lever.on_batch(idx, out.detach(), data.labels[idx])
        lever.after_backward(net, step)
        opt.step()
        lever.after_step(net, step)
        lever.on_step_done([net.space.min()], 4)
    return order


def test_hooks_and_resume_through_checkpoint(cifar_test_small, tmp_path):
    net, opt, lever = _setup()
    lever.setup(net, opt, N)
    for epoch in range(3):
        order = _epoch(net, opt, lever, epoch, cifar_test_small)
    assert lever.freezer.frozen >= 1 and lever.masks_updated_for == 1 and lever.sieved_for == 1
    for name, m in lever.masks.masks.items():  # 2:4 after two prune-and-grow rounds, weights obey masks
        w = dict(net.named_parameters())[name]
        assert not w[~m].any()
    saved = lever.flops_saved()
    assert set(saved) == {"sparsity", "freezing", "sieving"} and all(v > 0 for v in saved.values())
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, net, opt, {"it": 6}, order, [lever])

    net2, opt2, lever2 = _setup(seed=1)  # different init: everything must come from the file
    lever2.epoch_size(N)
    load_checkpoint(path, net2, opt2, [lever2])
    lever2.setup(net2, opt2, N)
    for k, m in lever.masks.masks.items():
        assert torch.equal(m, lever2.masks.masks[k])
    assert lever2.flops_saved() == saved and lever2.freezer.frozen == lever.freezer.frozen
    assert np.array_equal(lever.sieve.active, lever2.sieve.active)
    # both continue identically: the next epoch sieves, freezes and regrows the same way
    _epoch(net, opt, lever, 3, cifar_test_small)
    _epoch(net2, opt2, lever2, 3, cifar_test_small)
    assert np.array_equal(lever.sieve.queue, lever2.sieve.queue)
    for k, m in lever.masks.masks.items():
        assert torch.equal(m, lever2.masks.masks[k])
    for (k, a), b in zip(net.state_dict().items(), net2.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_resume_with_other_settings_is_user_error(tmp_path):
    net, opt, lever = _setup()
    lever.setup(net, opt, N)
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, net, opt, {"it": 0}, torch.arange(N), [lever])
    other = SpfdeLever(SpfdeConfig(sieving=SieveConfig(0.25)), epochs=6, seed=7)
    with pytest.raises(UserError, match="SpFDE settings"):
        load_checkpoint(path, net, opt, [other])
    with pytest.raises(UserError, match="trained with levers"):
        load_checkpoint(path, net, opt, [])


def test_a_lever_planned_for_another_run_length_is_refused(tmp_path, data_root):
    """`Trainer(TrainConfig(epochs=2), [SpfdeLever(config, 40)])` trained 2 epochs on a 40-epoch plan without a
    word: no block froze (T_frz 20) and the mask updates decayed over 40 epochs."""
    from ofa_edge.train import TrainConfig, Trainer

    cfg = TrainConfig(data=str(data_root), out=str(tmp_path / "r"), epochs=2, device="cpu", limit_train=8)
    lever = SpfdeLever(SpfdeConfig(freezing=FreezeConfig(20, 2, 0.05)), 40, cfg.seed)
    with pytest.raises(UserError, match="planned for 40 epochs, but the run trains 2; make it with epochs=2"):
        Trainer(cfg, [lever])


def test_a_lever_seeded_otherwise_than_the_run_is_refused(tmp_path, data_root):
    """From Python the lever's seed defaulted to 0 whatever the run's was, so its first sieve and mask growth
    differed from the CLI's run with the same --seed (which passes the run's)."""
    from ofa_edge.train import TrainConfig, Trainer

    cfg = TrainConfig(
        data=str(data_root), out=str(tmp_path / "r"), epochs=2, device="cpu", limit_train=8, batch_size=4, seed=5
    )
    spfde = SpfdeConfig(sieving=SieveConfig(0.25))
    with pytest.raises(TypeError, match="seed"):
        SpfdeLever(spfde, 2)  # no default to fall back on
    with pytest.raises(UserError, match=r"seeded with 0, but the run's seed is 5; make it with seed=5"):
        Trainer(cfg, [SpfdeLever(spfde, 2, 0)])
    assert Trainer(cfg, [SpfdeLever(spfde, 2, 5)]).levers[0].seed == 5
