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
