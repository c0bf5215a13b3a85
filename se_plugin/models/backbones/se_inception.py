"""SE-BN-Inception (Table 2, Fig. 2): an SE layer on every Inception
module's output.

BN-Inception is Inception-v2 of the Batch Normalization paper (Ioffe and
Szegedy, 2015, Fig. 5) in the layout of its Caffe release, as ported by
Cadene's ``pretrainedmodels.bninception``: a full 7x7 stem conv, ceil-mode
stride-2 max pools without padding, 3x3 average pools (count_include_pad)
before the projections, a 3x3 max pool before 5b's projection, and every
conv followed by BN and ReLU. Its parameters map one to one onto ours
(``inception_4c_double_3x3_1`` -> ``stages.1.3.branch_double_3x3.1.conv``,
``..._bn`` -> ``.bn``; ``_reduce``/``_1``/``_2`` are a branch's convs 0, 1,
2 and ``pool_proj`` is ``branch_pool.1``), except that its convs carry a
bias, which folds into the following BN's running mean.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from se_plugin.registry import MODELS
from ..layers.se_layer import SELayer, check_se_args
from .base import KAIMING_INIT, StagedBackbone
from .pretrained import accepts_pretrained

# name: (1x1, (3x3 reduce, 3x3), (double 3x3 reduce, double 3x3),
#        pool, pool projection, stride); 0 = no such conv.
MODULES = {
    '3a': (64, (64, 64), (64, 96), 'avg', 32, 1),  # 256
    '3b': (64, (64, 96), (64, 96), 'avg', 64, 1),  # 320
    '3c': (0, (128, 160), (64, 96), 'max', 0, 2),  # 576
    '4a': (224, (64, 96), (96, 128), 'avg', 128, 1),  # 576
    '4b': (192, (96, 128), (96, 128), 'avg', 128, 1),  # 576
    '4c': (160, (128, 160), (128, 160), 'avg', 128, 1),  # 608
    '4d': (96, (128, 192), (160, 192), 'avg', 128, 1),  # 608
    '4e': (0, (128, 192), (192, 256), 'max', 0, 2),  # 1056
    '5a': (352, (192, 320), (160, 224), 'avg', 128, 1),  # 1024
    '5b': (352, (192, 320), (192, 224), 'max', 128, 1),  # 1024
}
# A stage is one output resolution, its downsampling module first (as in
# ResNet): strides 8, 16 and 32.
STAGES = (('3a', '3b'), ('3c', '4a', '4b', '4c', '4d'), ('4e', '5a', '5b'))


class InceptionModule(nn.Module):
    """One BN-Inception module: four (or, at stride 2, three) branches,
    concatenated, then an optional SE layer on the concatenation.

    Args:
        in_channels: Input channels.
        spec: A row of ``MODULES``: widths of the 1x1, 3x3 and double-3x3
            branches, pool type, pool projection width and stride.
        with_se: Whether to add the SE layer. Default: True.
        se_ratio: Its reduction ratio. Default: 16.
        se_cfg: Further :class:`SELayer` options.
        with_cp: Checkpoint the module's forward to save memory.
        **conv_kwargs: ``conv_cfg``, ``norm_cfg``, ``act_cfg`` of every conv.

    Example:
        >>> module = InceptionModule(192, MODULES['3a'])
        >>> module(torch.rand(1, 192, 28, 28)).shape
        torch.Size([1, 256, 28, 28])
    """

    def __init__(self, in_channels: int, spec: tuple, with_se: bool = True,
                 se_ratio: float = 16, se_cfg: Optional[dict] = None,
                 with_cp: bool = False, **conv_kwargs) -> None:
        super().__init__()
        c1x1, (r3x3, c3x3), (rdbl, cdbl), pool, proj, stride = spec

        def conv(cin, cout, kernel, stride=1):
            return ConvModule(cin, cout, kernel, stride=stride,
                              padding=kernel // 2, **conv_kwargs)

        self.with_cp = with_cp
        self.branch_1x1 = conv(in_channels, c1x1, 1) if c1x1 else None
        self.branch_3x3 = nn.Sequential(
            conv(in_channels, r3x3, 1), conv(r3x3, c3x3, 3, stride))
        self.branch_double_3x3 = nn.Sequential(
            conv(in_channels, rdbl, 1), conv(rdbl, cdbl, 3),
            conv(cdbl, cdbl, 3, stride))
        if pool == 'avg':
            pool_layer = nn.AvgPool2d(3, stride=1, padding=1)
        elif stride == 1:
            pool_layer = nn.MaxPool2d(3, stride=1, padding=1)
        else:  # the Caffe release's unpadded ceil-mode pool
            pool_layer = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.branch_pool = nn.Sequential(pool_layer)
        if proj:
            self.branch_pool.append(conv(in_channels, proj, 1))
        self.out_channels = (c1x1 + c3x3 + cdbl
                             + (proj or in_channels))
        self.se = (SELayer(self.out_channels, ratio=se_ratio, **(se_cfg or {}))
                   if with_se else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            branches = (self.branch_1x1, self.branch_3x3,
                        self.branch_double_3x3, self.branch_pool)
            out = torch.cat([b(x) for b in branches if b is not None], 1)
            return out if self.se is None else self.se(out)

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


@MODELS.register_module()
@accepts_pretrained
class SEBNInception(StagedBackbone):
    """SE-BN-Inception (Table 2, Fig. 2): BN-Inception with an SE layer on
    the output of each of its ten Inception modules.

    A stage is the group of Inception modules at one resolution, its
    downsampling module first: (3a, 3b) at stride 8, (3c, 4a-4d) at
    stride 16, (4e, 5a, 5b) at stride 32. The stem (7x7 conv, pool, 1x1 and
    3x3 convs, pool) comes before them.

    Args:
        se_ratio: Reduction ratio r of every SE layer. Default: 16.
        se_stages: One bool per stage. Default: all. All False is the plain
            BN-Inception.
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``.
        out_indices: Stages (0, 1, 2) whose outputs are returned
            (320, 608 and 1024 channels). Default: (2, ).
        frozen_stages: Freeze the stem and the first N stages (-1 to 3).
            Default: -1.
        norm_eval: Keep every BN in eval mode while training.
            Default: False.
        with_cp: Checkpoint each Inception module. Default: False.
        conv_cfg, norm_cfg, act_cfg: Of every conv. Default: Conv2d, BN,
            ReLU.
        init_cfg: Default: Kaiming for convs, BN weights 1.

    Example:
        >>> model = SEBNInception(out_indices=(0, 1, 2)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 320, 28, 28)
        (1, 608, 14, 14)
        (1, 1024, 7, 7)
    """

    def __init__(self,
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[List[dict]] = KAIMING_INIT) -> None:
        se_stages, se_cfg = check_se_args(se_ratio, se_stages, len(STAGES),
                                          se_cfg)
        super().__init__(len(STAGES), out_indices, frozen_stages, norm_eval,
                         init_cfg)
        conv_kwargs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                           act_cfg=act_cfg)
        self.stem = nn.Sequential(
            ConvModule(3, 64, 7, stride=2, padding=3, **conv_kwargs),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            ConvModule(64, 64, 1, **conv_kwargs),
            ConvModule(64, 192, 3, padding=1, **conv_kwargs),
            nn.MaxPool2d(3, stride=2, ceil_mode=True))
        channels = 192
        self.stages = nn.ModuleList()
        for names, with_se in zip(STAGES, se_stages):
            stage = nn.Sequential()
            for name in names:
                stage.append(
                    InceptionModule(channels, MODULES[name], with_se,
                                    se_ratio, se_cfg, with_cp, **conv_kwargs))
                channels = stage[-1].out_channels
            self.stages.append(stage)

    def parts(self) -> List[List[nn.Module]]:
        return [[self.stem]] + [[stage] for stage in self.stages]
