"""SE-VGG-16 (Table 2) as an option on mmpretrain's VGG.

Section 3.3: for a network without residual connections the SE layer goes
"after the non-linearity following each convolution"; Section 5.1 trains
VGG-16 with batch normalization after every conv. So the backbone is
mmpretrain's VGG with ``norm_cfg=dict(type='BN')`` by default and an
SELayer inserted into ``features`` after each conv's ReLU. The host's
forward, ``frozen_stages`` and ``norm_eval`` walk the same stage ranges, so
they cover the SE layers unchanged; with every SE stage off the backbone is
mmpretrain's VGG, module for module.
"""
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.vgg import VGG

from se_plugin.registry import MODELS
from se_plugin.utils.checks import (check_choice, check_frozen_stages,
                                    check_out_indices)
from ..layers.se_layer import SELayer, check_se_args
from .pretrained import NamedPrefixMixin, accepts_pretrained


@MODELS.register_module()
@accepts_pretrained
class SEVGG(NamedPrefixMixin, VGG):
    """SE-VGG: mmpretrain's VGG with an SE layer after every conv's ReLU.

    A stage is one conv group ending in a max-pool (five for every depth);
    ``out_indices`` picks stage outputs (after the pool), and with
    ``num_classes > 0`` the 4096-4096-``num_classes`` classifier runs in the
    backbone and its logits come last.

    Args:
        depth: 11, 13, 16 or 19.
        num_classes: > 0 keeps VGG's fully connected classifier (its input
            is 512x7x7: 224x224 images). Default: -1 (features only).
        num_stages: Conv stages to build, 1 to 5. Default: 5.
        dilations: Dilation of each stage's convs. Default: all 1.
        out_indices: Stages whose outputs are returned (an int or a
            sequence). Default: the last stage, or the logits only when
            ``num_classes > 0``.
        frozen_stages: Freeze the first N stages (parameters and BN
            statistics); -1 freezes nothing. Default: -1.
        norm_cfg: Norm layer after each conv; None gives VGG without BN.
            Default: ``dict(type='BN')`` (VGG-16-BN, Section 5.1).
        se_ratio: Reduction ratio r of every SE layer (Table 10). Default: 16.
        se_stages: One bool per stage: which stages' convs get SE layers.
            Default: all. All False is mmpretrain's VGG.
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``.
        **kwargs: mmpretrain ``VGG`` arguments: ``norm_eval``, ``ceil_mode``,
            ``with_last_pool``, ``conv_cfg``, ``act_cfg``, ``init_cfg``.

    Example:
        >>> model = SEVGG(depth=16, out_indices=(0, 1, 2, 3, 4)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 64, 112, 112)
        (1, 128, 56, 56)
        (1, 256, 28, 28)
        (1, 512, 14, 14)
        (1, 512, 7, 7)
        >>> model = SEVGG(depth=16, num_classes=1000).eval()
        >>> model(torch.rand(1, 3, 224, 224))[0].shape
        torch.Size([1, 1000])
    """

    def __init__(self,
                 depth: int,
                 num_classes: int = -1,
                 num_stages: int = 5,
                 dilations: Sequence[int] = (1, 1, 1, 1, 1),
                 out_indices: Union[None, int, Sequence[int]] = None,
                 frozen_stages: int = -1,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        # The host asserts or raises KeyError; these name the field instead.
        check_choice('depth', depth, self.arch_settings)
        check_choice('num_stages', num_stages, range(1, 6))
        se_stages, se_cfg = check_se_args(se_ratio, se_stages, num_stages,
                                          se_cfg, 'conv stage')
        if len(dilations) != num_stages:
            raise ValueError(f'dilations must be {num_stages} ints, one per '
                             f'stage, got {dilations!r}')
        # Index num_stages stands for the logits, which are returned whenever
        # num_classes > 0. The host's defaults, (5, ) and (4, ), fail its own
        # check for num_stages < 5.
        if out_indices is None:
            out_indices = (num_stages - (num_classes <= 0), )
        out_indices = check_out_indices(out_indices,
                                        num_stages + (num_classes > 0))
        check_frozen_stages(frozen_stages, num_stages)
        super().__init__(
            depth=depth,
            num_classes=num_classes,
            num_stages=num_stages,
            dilations=dilations,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            norm_cfg=norm_cfg,
            **kwargs)
        if any(se_stages):
            self._insert_se_layers(se_stages, se_ratio, se_cfg)

    def _insert_se_layers(self, se_stages: Sequence[bool], se_ratio: float,
                          se_cfg: dict) -> None:
        """Put an SELayer after each ConvModule (conv, BN, ReLU) of the SE
        stages and move the stage ranges the host's forward walks."""
        layers, ranges = [], []
        features = getattr(self, self.module_name)
        for (start, end), with_se in zip(self.range_sub_modules, se_stages):
            first = len(layers)
            for layer in features[start:end]:
                layers.append(layer)
                if with_se and isinstance(layer, ConvModule):
                    layers.append(
                        SELayer(layer.out_channels, ratio=se_ratio, **se_cfg))
            ranges.append([first, len(layers)])
        self.add_module(self.module_name, nn.Sequential(*layers))
        self.range_sub_modules = ranges

    def train(self, mode: bool = True) -> nn.Module:
        # mmpretrain's VGG.train returns None, breaking `model.eval()(x)`.
        super().train(mode)
        return self
