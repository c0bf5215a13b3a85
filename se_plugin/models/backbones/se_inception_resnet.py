"""SE-Inception-ResNet-v2 (Table 2): SE on every Inception-ResNet block.

Inception-ResNet-v2 (Szegedy et al., 2016) as released in TF-slim and
ported by timm (``timm.models.inception_resnet_v2``): a stem to 35x35x320,
then three stages of Inception-ResNet blocks (10 x 35x35, 20 x 17x17,
10 x 8x8), the second and third opened by the reduction modules
``mixed_6a`` and ``mixed_7a``, and a 1x1 conv to 1536 channels. Module and
parameter names are timm's, so timm's weights load into the backbone as
they are. The SE-specific difference is one line of
:class:`InceptionResNetBlock`: the SE layer scales the residual branch
before the sum with the identity (Section 3.3).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer
from torch.nn.modules.utils import _pair

from se_plugin.registry import MODELS
from ..layers.se_layer import SELayer, check_se_args
from .base import KAIMING_INIT, StagedBackbone
from .pretrained import accepts_pretrained

# A branch is a sequence of (out_channels, kernel[, stride]) conv-BN-ReLUs.
# Per stage: block width, residual scale, branches (TF-slim's widths).
STAGE_BLOCKS = (
    (320, 0.17, (((32, 1), ), ((32, 1), (32, 3)),
                 ((32, 1), (48, 3), (64, 3)))),
    (1088, 0.10, (((192, 1), ), ((128, 1), (160, (1, 7)), (192, (7, 1))))),
    (2080, 0.20, (((192, 1), ), ((192, 1), (224, (1, 3)), (256, (3, 1))))),
)
# The modules of the stem and of each stage, in forward order (timm's names).
STAGE_LAYERS = (
    ('conv2d_1a', 'conv2d_2a', 'conv2d_2b', 'maxpool_3a', 'conv2d_3b',
     'conv2d_4a', 'maxpool_5a', 'mixed_5b'),
    ('repeat', ),
    ('mixed_6a', 'repeat_1'),
    ('mixed_7a', 'repeat_2', 'block8', 'conv2d_7b'),
)
# What out_indices 0-4 return (timm's feature taps): strides 2, 4, 8, 16, 32.
OUTPUT_LAYERS = ('conv2d_2b', 'conv2d_4a', 'repeat', 'repeat_1', 'conv2d_7b')
# Five unpadded stride-2 3x3s and two unpadded 3x3s: 75 -> 37 -> 35 -> 17
# -> 15 -> 7 -> 3 -> 1 after mixed_7a; a 74 px side is 0 there.
MIN_INPUT_SIZE = 75


class Concat(nn.Module):
    """Parallel branches (``branch0``, ``branch1`` ...) joined on channels."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        for i, branch in enumerate(branches):
            self.add_module(f'branch{i}', branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.children()], 1)


class InceptionResNetBlock(Concat):
    """``relu(x + se(scale * conv2d(concat(branches(x)))))``.

    Args:
        branches: The Inception branches, each mapping C to some channels.
        channels: C, the block's input and output width.
        mid_channels: Width of the concatenated branches, which the 1x1
            up-projection maps back to C.
        scale: Residual scale (0.17, 0.10, 0.20 by stage; 1.0 for the last
            block), which keeps the early sums stable (Section 3.3 of
            Szegedy et al.).
        relu: Whether a ReLU follows the sum (not in the last block).
        with_se: Whether an SE layer scales the residual branch.
        se_ratio: Its reduction ratio.
        se_cfg: Further :class:`SELayer` options.
        conv_cfg: Config of the 1x1 up-projection (linear, with a bias).
    """

    def __init__(self,
                 branches: Sequence[nn.Module],
                 channels: int,
                 mid_channels: int,
                 scale: float,
                 relu: bool = True,
                 with_se: bool = True,
                 se_ratio: float = 16,
                 se_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None) -> None:
        super().__init__(*branches)
        self.num_branches = len(branches)
        self.conv2d = build_conv_layer(conv_cfg, mid_channels, channels, 1)
        self.scale = scale
        self.se = (SELayer(channels, ratio=se_ratio, **(se_cfg or {}))
                   if with_se else None)
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = list(self.children())[:self.num_branches]
        out = torch.cat([branch(x) for branch in branches], 1)
        out = self.conv2d(out) * self.scale
        if self.se is None:
            out = out + x
        else:
            # SE after the residual scale, before the sum (Section 3.3).
            out = self.se(out, identity=x, inplace=True)
        return out if self.relu is None else self.relu(out)


@MODELS.register_module()
@accepts_pretrained
class SEInceptionResNetV2(StagedBackbone):
    """SE-Inception-ResNet-v2 (Table 2) on a 299x299 input.

    A stage is one of the three groups of repeated Inception-ResNet blocks
    (35x35x320, 17x17x1088, 8x8x2080). Every block of an SE stage gets one
    SE layer on its residual branch, after the 1x1 up-projection and the
    residual scale, before the sum with the identity. The stem is
    ``conv2d_1a`` .. ``mixed_5b`` (299x299x3 -> 35x35x320); stage 2 opens
    with ``mixed_6a``, stage 3 with ``mixed_7a`` and closes with
    ``conv2d_7b`` (2080 -> 1536). With every SE stage off this is timm's
    ``inception_resnet_v2``: same modules, parameter names and outputs,
    so ``model.load_state_dict(timm_sd, strict=False)`` loads timm's
    weights (only timm's classifier ``classif.*`` is left over; in an
    mmpretrain ``ImageClassifier`` prefix the backbone keys with
    ``backbone.`` and rename ``classif.`` to ``head.fc.``). The smallest
    input is 75x75 (1x1 after ``mixed_7a``).

    Args:
        num_blocks: Inception-ResNet blocks per stage; the third stage's
            last block (residual scale 1.0, no ReLU) is ``block8``.
            Default: (10, 20, 10), the TF-slim release.
        se_ratio: Reduction ratio r of every SE layer. Default: 16.
        se_stages: One bool per stage: which stages get SE layers.
            Default: all. All False is the plain Inception-ResNet-v2.
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``.
        out_indices: Which features to return, of 0: ``conv2d_2b`` (64
            channels, stride 2), 1: ``conv2d_4a`` (192, stride 4), 2-4:
            the stages' outputs (320, 1088 and 1536 channels, strides 8,
            16, 32). Default: (4, ).
        frozen_stages: Freeze the stem (0) and the first N stages (N):
            no gradients, BN in eval mode. Default: -1 (none).
        norm_eval: Keep every BN layer in eval mode in training.
        conv_cfg: Conv layer config. Default: None (``nn.Conv2d``).
        norm_cfg: Norm layer config. Default: BN with eps 0.001 (TF-slim's).
        act_cfg: Activation config. Default: ReLU.
        init_cfg: Initialization config. Default: Kaiming for convs,
            ones for BN (mmpretrain's ResNet).

    Example:
        >>> model = SEInceptionResNetV2(out_indices=(0, 1, 2, 3, 4)).eval()
        >>> for out in model(torch.rand(1, 3, 299, 299)):
        ...     print(tuple(out.shape))
        (1, 64, 147, 147)
        (1, 192, 71, 71)
        (1, 320, 35, 35)
        (1, 1088, 17, 17)
        (1, 1536, 8, 8)
    """

    def __init__(self,
                 num_blocks: Sequence[int] = (10, 20, 10),
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', eps=1e-3),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, list]] = KAIMING_INIT) -> None:
        se_stages, se_cfg = check_se_args(
            se_ratio, se_stages, 3, se_cfg,
            'group of Inception-ResNet blocks')
        if (not isinstance(num_blocks, (list, tuple)) or len(num_blocks) != 3
                or not all(isinstance(n, int) and n >= 1
                           for n in num_blocks)):
            raise ValueError('num_blocks must be 3 positive ints, one per '
                             f'stage, got {num_blocks!r}')
        super().__init__(3, out_indices, frozen_stages, norm_eval, init_cfg,
                         num_outputs=len(OUTPUT_LAYERS))
        self.se_stages = se_stages
        self.se_ratio = se_ratio
        self.se_cfg = se_cfg
        self._cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                          act_cfg=act_cfg)
        conv = self._conv

        self.conv2d_1a = conv(3, 32, 3, stride=2)
        self.conv2d_2a = conv(32, 32, 3)
        self.conv2d_2b = conv(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = conv(64, 80, 1)
        self.conv2d_4a = conv(80, 192, 3)
        self.maxpool_5a = nn.MaxPool2d(3, stride=2)
        self.mixed_5b = Concat(
            self._branch(192, (96, 1)),
            self._branch(192, (48, 1), (64, 5)),
            self._branch(192, (64, 1), (96, 3), (96, 3)),
            nn.Sequential(
                nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                conv(192, 64, 1)))
        self.repeat = self._blocks(0, num_blocks[0], se_stages[0])
        self.mixed_6a = Concat(
            self._branch(320, (384, 3, 2)),
            self._branch(320, (256, 1), (256, 3), (384, 3, 2)),
            nn.MaxPool2d(3, stride=2))
        self.repeat_1 = self._blocks(1, num_blocks[1], se_stages[1])
        self.mixed_7a = Concat(
            self._branch(1088, (256, 1), (384, 3, 2)),
            self._branch(1088, (256, 1), (288, 3, 2)),
            self._branch(1088, (256, 1), (288, 3), (320, 3, 2)),
            nn.MaxPool2d(3, stride=2))
        self.repeat_2 = self._blocks(2, num_blocks[2] - 1, se_stages[2])
        self.block8 = self._block(2, se_stages[2], scale=1.0, relu=False)
        self.conv2d_7b = conv(2080, 1536, 1)
        self._freeze_stages()

    def _conv(self, in_channels: int, out_channels: int, kernel,
              stride: int = 1, padding=0) -> ConvModule:
        return ConvModule(in_channels, out_channels, kernel, stride,
                          padding, **self._cfgs)

    def _branch(self, in_channels: int, *convs: tuple) -> nn.Module:
        """Convs in sequence, each (out_channels, kernel[, stride]).

        Stride-1 convs keep the size and stride-2 ones pad nothing (TF's
        'SAME' and 'VALID'), as in every TF-slim Inception module.
        """
        layers = []
        for out_channels, kernel, *stride in convs:
            stride = stride[0] if stride else 1
            padding = 0
            if stride == 1:
                padding = tuple(k // 2 for k in _pair(kernel))
            layers.append(self._conv(in_channels, out_channels, kernel,
                                     stride, padding))
            in_channels = out_channels
        # A one-conv branch is the ConvModule itself (timm's names).
        return layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def _block(self, stage: int, with_se: bool, **kwargs) -> nn.Module:
        channels, scale, branches = STAGE_BLOCKS[stage]
        kwargs.setdefault('scale', scale)
        return InceptionResNetBlock(
            [self._branch(channels, *convs) for convs in branches],
            channels, sum(convs[-1][0] for convs in branches),
            with_se=with_se, se_ratio=self.se_ratio, se_cfg=self.se_cfg,
            conv_cfg=self._cfgs['conv_cfg'], **kwargs)

    def _blocks(self, stage: int, num: int, with_se: bool) -> nn.Sequential:
        return nn.Sequential(
            *[self._block(stage, with_se) for _ in range(num)])

    def parts(self) -> List[List[nn.Module]]:
        return [[getattr(self, name) for name in names]
                for names in STAGE_LAYERS]

    def output_modules(self) -> List[nn.Module]:
        return [getattr(self, name) for name in OUTPUT_LAYERS]

    def forward(self, x: torch.Tensor) -> tuple:
        if min(x.shape[-2:]) < MIN_INPUT_SIZE:
            raise ValueError(
                f'SEInceptionResNetV2 needs inputs of at least '
                f'{MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} pixels, got '
                f'{x.shape[-2]}x{x.shape[-1]}')
        return super().forward(x)
