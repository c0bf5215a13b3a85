"""SE-MobileNet (Table 3): 1.0 MobileNet-224 with SE layers.

mmpretrain has no MobileNetV1, so this is Howard et al. 2017, Table 1,
written on mmpretrain's BaseBackbone: a 3x3 stride-2 conv, then 13
depthwise-separable blocks (3x3 depthwise + BN + ReLU, 1x1 pointwise + BN +
ReLU). The layout, stage for stage, is timm's ``mobilenetv1_100``. As the
network has no residual connections, the SE layer goes after the
non-linearity ending each block (Section 3.3): 13 SE layers, whose FC
weights take the 4.2M parameters to the paper's 4.7M.
"""
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmpretrain.models.utils import make_divisible

from se_plugin.registry import MODELS
from ..layers.se_layer import SELayer, check_se_args
from .base import KAIMING_INIT, StagedBackbone
from .pretrained import accepts_pretrained


@MODELS.register_module()
@accepts_pretrained
class SEMobileNetV1(StagedBackbone):
    """SE-MobileNet: MobileNetV1 with an SE layer after each block.

    A stage is the run of blocks at one resolution (channels, output
    stride): stage 0 is block 1 after the stem (64, 2), stage 1 blocks 2-3
    (128, 4), stage 2 blocks 4-5 (256, 8), stage 3 blocks 6-11 (512, 16),
    stage 4 blocks 12-13 (1024, 32). The stem conv carries no SE layer.

    Args:
        widen_factor: Width multiplier (the paper's "1.0"); channels are
            rounded to multiples of 8. Default: 1.0.
        out_indices: Stages whose outputs are returned (an int or a
            sequence). Default: (4, ).
        frozen_stages: Freeze the stem (0) and the first N stages
            (parameters and BN statistics); -1 freezes nothing. Default: -1.
        se_ratio: Reduction ratio r of every SE layer. Default: 16.
        se_stages: One bool per stage: which stages' blocks get SE layers.
            Default: all. All False is the plain MobileNet.
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``.
        conv_cfg: Conv layer config. Default: None (Conv2d).
        norm_cfg: Norm layer config. Default: ``dict(type='BN')``.
        act_cfg: Activation config. Default: ``dict(type='ReLU')`` (the
            paper's; timm's ``mobilenetv1_100`` uses ReLU6).
        norm_eval: Keep every BN layer in eval mode during training.
            Default: False.
        init_cfg: Initialization config. Default: Kaiming for convs,
            constant 1 for norms (as mmpretrain's MobileNetV2).

    Example:
        >>> model = SEMobileNetV1(out_indices=(0, 1, 2, 3, 4)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 64, 112, 112)
        (1, 128, 56, 56)
        (1, 256, 28, 28)
        (1, 512, 14, 14)
        (1, 1024, 7, 7)
    """

    # (out channels, stride) of each block, one tuple per stage (Table 1).
    arch_settings = (
        ((64, 1), ),
        ((128, 2), (128, 1)),
        ((256, 2), (256, 1)),
        ((512, 2), ) + ((512, 1), ) * 5,
        ((1024, 2), (1024, 1)),
    )

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Union[int, Sequence[int]] = (4, ),
                 frozen_stages: int = -1,
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 norm_eval: bool = False,
                 init_cfg: Optional[list] = KAIMING_INIT) -> None:
        num_stages = len(self.arch_settings)
        se_stages, se_cfg = check_se_args(se_ratio, se_stages, num_stages,
                                          se_cfg, 'resolution stage')
        if (isinstance(widen_factor, bool)
                or not isinstance(widen_factor, (int, float))
                or widen_factor <= 0):
            raise ValueError('widen_factor must be a positive number, '
                             f'got {widen_factor!r}')
        super().__init__(num_stages, out_indices, frozen_stages, norm_eval,
                         init_cfg)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, channels, 3, stride=2, padding=1, **cfgs)
        self.layers = []
        for i, (blocks, with_se) in enumerate(zip(self.arch_settings,
                                                  se_stages)):
            layers = []
            for out_channels, stride in blocks:
                out_channels = make_divisible(out_channels * widen_factor, 8)
                layers.append(DepthwiseSeparableConvModule(
                    channels, out_channels, 3, stride=stride, padding=1,
                    **cfgs))
                if with_se:  # on the block output, after the pointwise ReLU
                    layers.append(
                        SELayer(out_channels, ratio=se_ratio, **se_cfg))
                channels = out_channels
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.layers.append(f'layer{i + 1}')
        self._freeze_stages()

    def parts(self) -> List[List[nn.Module]]:
        return [[getattr(self, name)] for name in ['conv1', *self.layers]]
