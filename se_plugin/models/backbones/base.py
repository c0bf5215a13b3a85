"""The skeleton of the backbones without an mmpretrain host: a stem, then
stages, with ``out_indices``, ``frozen_stages`` and ``norm_eval`` as
mmpretrain's backbones behave and a ``train()`` that returns the model.

A subclass builds its modules and says, in :meth:`parts`, which modules the
stem and each stage run in order; the checks, the forward pass, freezing and
the default init are here once.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch.nn.modules.batchnorm import _BatchNorm

from se_plugin.utils.checks import check_frozen_stages, check_out_indices
from .pretrained import NamedPrefixMixin

# He (fan-out) init of convs, norms to weight 1 and bias 0: mmpretrain's
# ResNet default (BaseModule deep-copies it).
KAIMING_INIT = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]


class StagedBackbone(NamedPrefixMixin, BaseBackbone):
    """A stem, then ``num_stages`` stages.

    Args:
        num_stages: Number of stages (``frozen_stages`` goes up to it).
        out_indices: Which outputs to return, of :meth:`output_modules`
            (by default the last module of each stage).
        frozen_stages: Freeze the stem (0) and the first N stages: no
            gradients, BN statistics fixed. -1: none.
        norm_eval: Keep every BN in eval mode while training.
        init_cfg: Initialization config.
        num_outputs: Length of :meth:`output_modules`. Default: num_stages.
    """

    def __init__(self,
                 num_stages: int,
                 out_indices: Union[int, Sequence[int]],
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None,
                 num_outputs: Optional[int] = None) -> None:
        out_indices = check_out_indices(out_indices, num_outputs or num_stages)
        check_frozen_stages(frozen_stages, num_stages)
        super().__init__(init_cfg)
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

    def parts(self) -> List[List[nn.Module]]:
        """The modules of the stem, then of each stage, in forward order."""
        raise NotImplementedError

    def output_modules(self) -> List[nn.Module]:
        """The modules whose outputs ``out_indices`` pick."""
        return [part[-1] for part in self.parts()[1:]]

    def forward(self, x: torch.Tensor) -> tuple:
        wanted = [self.output_modules()[i] for i in self.out_indices]
        outs = []
        for part in self.parts():
            for module in part:
                x = module(x)
                if any(module is m for m in wanted):
                    outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for part in self.parts()[:self.frozen_stages + 1]:
            for module in part:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> nn.Module:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
