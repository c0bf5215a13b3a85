"""Parameter and FLOP counts as the paper reports them.

The paper's "GFLOPs" are multiply-adds (MACs) of conv and linear layers plus
the SE block's squeeze (one add per input element) and scale (one multiply
per element): that is how ResNet-50's 3.86 becomes SE-ResNet-50's 3.87.
"""
from typing import Sequence

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from se_plugin.models.layers.se_layer import SELayer


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or frozen)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: nn.Module,
               input_shape: Sequence[int] = (1, 3, 224, 224)) -> int:
    """Multiply-adds of one forward pass, counted the paper's way.

    Conv and linear MACs come from torch's FlopCounterMode (which counts a
    MAC as 2 FLOPs); each SE layer adds its squeeze and scale.
    """
    se_ops = 0

    def count_se(module: SELayer, args, output) -> None:
        nonlocal se_ops
        elements = args[0].numel()
        se_ops += elements * (1 if module.squeeze == 'none' else 2)

    hooks = [
        m.register_forward_hook(count_se) for m in model.modules()
        if isinstance(m, SELayer)
    ]
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with counter:
            model(torch.zeros(*input_shape))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return counter.get_total_flops() // 2 + se_ops


def _r50(**se_options) -> dict:
    # The paper's counts use the released models' layout: stride on the
    # first 1x1 conv (style='caffe'); pytorch style costs 4.09 GMACs.
    return dict(type='se_plugin.SEResNet', depth=50, style='caffe',
                **se_options)


_NO_SE = dict(se_stages=(False, ) * 4)

# (table, model, backbone config, paper params in M, paper GFLOPs or None)
PAPER_ROWS = [
    ('Table 2', 'ResNet-50', _r50(**_NO_SE), 25.6, 3.86),
    ('Table 2', 'SE-ResNet-50', _r50(), 28.1, 3.87),
    ('Table 10', 'SE-ResNet-50 r=2', _r50(se_ratio=2), 45.7, None),
    ('Table 10', 'SE-ResNet-50 r=4', _r50(se_ratio=4), 35.7, None),
    ('Table 10', 'SE-ResNet-50 r=8', _r50(se_ratio=8), 30.7, None),
    ('Table 10', 'SE-ResNet-50 r=16', _r50(se_ratio=16), 28.1, None),
    ('Table 10', 'SE-ResNet-50 r=32', _r50(se_ratio=32), 26.9, None),
    ('Table 13', 'SE_Stage_2', _r50(se_stages=(True, False, False, False)),
     25.6, 3.86),
    ('Table 13', 'SE_Stage_3', _r50(se_stages=(False, True, False, False)),
     25.7, 3.86),
    ('Table 13', 'SE_Stage_4', _r50(se_stages=(False, False, True, False)),
     26.4, 3.86),
    ('Table 15', 'SE_3x3', _r50(se_position='3x3'), 25.8, 3.86),
    ('Table 16', 'NoSqueeze', _r50(se_cfg=dict(squeeze='none')), 28.1, 4.27),
]
