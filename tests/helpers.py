"""Small helpers the backbone tests share."""
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from se_plugin import SELayer


def se_layers(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, SELayer)]


def randomize_bn(model: nn.Module) -> None:
    """BN statistics and affine terms off their defaults, so that twins can
    differ and a different eps or a missed BN changes the outputs."""
    with torch.no_grad():
        for bn in model.modules():
            if isinstance(bn, _BatchNorm):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.001, 2)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.5, 0.5)


def constant_gate(se: SELayer, low: float = -3., high: float = 3.):
    """Make ``se`` scale by a known per-channel constant; return it."""
    with torch.no_grad():
        se.fc2.weight.zero_()
        se.fc2.bias.copy_(torch.linspace(low, high, se.in_channels))
    return torch.sigmoid(se.fc2.bias)[None, :, None, None]


def check_frozen(model, frozen, trainable):
    """``train()`` returns the model; ``frozen`` modules have no gradients
    and stay in eval mode, ``trainable`` ones train."""
    assert model.train() is model
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in trainable:
        assert all(p.requires_grad for p in module.parameters())
        assert module.training


def check_with_cp(monkeypatch, module, build, x, calls_expected):
    """``with_cp`` checkpoints ``calls_expected`` times through
    ``module.cp`` and matches the model without it, outputs and gradients."""
    torch.manual_seed(0)
    ref, cp_model = build(with_cp=False), build(with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    calls = []
    real = module.cp.checkpoint
    monkeypatch.setattr(module.cp, 'checkpoint',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    out_ref, out_cp = ref(x)[-1], cp_model(x.clone().requires_grad_())[-1]
    out_ref.sum().backward()
    out_cp.sum().backward()
    assert len(calls) == calls_expected
    torch.testing.assert_close(out_cp, out_ref)
    for (name, p), p_ref in zip(cp_model.named_parameters(),
                                ref.parameters()):
        assert p.grad is not None, name  # forward + backward reach it all
        torch.testing.assert_close(p.grad, p_ref.grad, msg=name)
