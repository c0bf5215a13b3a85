"""What the backbones written on mmpretrain's BaseBackbone share (those
without an mmpretrain host): ``frozen_stages`` and ``norm_eval`` as
mmpretrain's backbones behave, and a ``train()`` that returns the model."""
from typing import List

import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch.nn.modules.batchnorm import _BatchNorm


class FreezableBackbone(BaseBackbone):
    """Subclasses set ``frozen_stages`` and ``norm_eval`` and say which
    modules ``frozen_stages`` covers."""

    frozen_stages: int = -1
    norm_eval: bool = False

    def frozen_modules(self) -> List[nn.Module]:
        """The stem and stages that ``frozen_stages`` freezes."""
        raise NotImplementedError

    def _freeze_stages(self) -> None:
        for module in self.frozen_modules():
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
