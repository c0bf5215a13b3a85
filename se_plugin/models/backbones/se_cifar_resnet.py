"""The CIFAR models of Tables 4-5: pre-activation ResNets and Wide ResNets.

ResNet-110 and ResNet-164 are He et al.'s "Identity mappings" networks [14]
(Kaiming's ``resnet-pre-act.lua`` and fb.resnet.torch's ``preresnet.lua``);
WRN-16-8 is Zagoruyko & Komodakis's Wide ResNet [67] (``wide-resnet.lua``).
Both are one network: a 3x3 stem, three stages of pre-activation units
(BN-ReLU-conv, repeated) at 32, 16 and 8 pixels, and a final BN-ReLU.
mmpretrain's ``ResNet_CIFAR`` is a post-activation ResNet, so there is no
host to subclass. SE scales the residual branch before the sum (Section 3.3).
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from se_plugin.registry import MODELS
from se_plugin.utils.checks import check_choice
from ..layers.se_layer import SELayer, check_se_args
from .base import KAIMING_INIT, StagedBackbone
from .pretrained import accepts_pretrained

# Unit kinds as data: kernel sizes of the branch convs, output/mid widths.
BLOCKS = {'basic': ((3, 3), 1), 'bottleneck': ((1, 3, 1), 4)}


class PreActBlock(nn.Module):
    """A pre-activation residual unit ``x + F(x)``, F = (BN-ReLU-conv) x k.

    The stride sits on the first conv (the 1x1 of a bottleneck, as in
    ``resnet-pre-act.lua``). ``shared_preact``: the first unit of a stage
    feeds its first BN-ReLU to the shortcut as well ([14], appendix;
    fb.resnet.torch's ``'both_preact'``); a 1x1 conv projects the shortcut
    where the shape changes.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernels: Sequence[int],
                 expansion: int,
                 stride: int = 1,
                 shared_preact: bool = False,
                 drop_rate: float = 0.,
                 with_se: bool = False,
                 se_ratio: float = 16,
                 se_cfg: Optional[dict] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN')) -> None:
        super().__init__()
        mid = out_channels // expansion
        widths = [in_channels] + [mid] * (len(kernels) - 1) + [out_channels]
        self.norms = nn.ModuleList(
            build_norm_layer(norm_cfg, c)[1] for c in widths[:-1])
        self.convs = nn.ModuleList(
            build_conv_layer(conv_cfg, cin, cout, k, stride=stride if i == 0
                             else 1, padding=k // 2, bias=False)
            for i, (cin, cout, k) in enumerate(
                zip(widths[:-1], widths[1:], kernels)))
        self.relu = nn.ReLU(inplace=True)
        # WRN's dropout: after the last BN-ReLU, before the last conv.
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else None
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = build_conv_layer(
                conv_cfg, in_channels, out_channels, 1, stride=stride,
                bias=False)
        self.shared_preact = shared_preact
        self.se = SELayer(out_channels, ratio=se_ratio, **(
            se_cfg or {})) if with_se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norms[0](x))
        identity = out if self.shared_preact else x
        if self.shortcut is not None:
            identity = self.shortcut(identity)
        out = self.convs[0](out)
        for i in range(1, len(self.convs)):
            out = self.relu(self.norms[i](out))
            if self.drop is not None and i == len(self.convs) - 1:
                out = self.drop(out)
            out = self.convs[i](out)
        if self.se is None:
            return out + identity
        return self.se(out, identity=identity)  # identity + F(x) * s


@MODELS.register_module()
@accepts_pretrained
class SECifarResNet(StagedBackbone):
    """Pre-activation ResNet for 32x32 inputs [14] with SE blocks (Table 4-5).

    A stage is one of the three widths (32, 16 and 8 pixels); each unit of
    an SE stage scales its residual branch before the sum. Stage widths are
    ``base_channels * widen_factor * (1, 2, 4) * expansion`` (expansion 4
    for bottlenecks); the stem has ``base_channels``.

    Args:
        depth: Total depth: ``6n + 2`` with basic units, ``9n + 2`` with
            bottlenecks (n units per stage). 110: ResNet-110, 164:
            ResNet-164. Default: 110.
        block: ``'basic'`` (two 3x3 convs) or ``'bottleneck'`` (1x1, 3x3,
            1x1). None takes [14]'s choice: bottleneck from depth 164 up
            (ResNet-164, -1001), basic below (ResNet-110). Default: None.
        base_channels: Stem width and first-stage mid width. Default: 16.
        widen_factor: Width multiplier of the stages (WRN's k). Default: 1.
        drop_rate: Dropout before the last conv of every branch. Default: 0.
        se_ratio: Reduction ratio r of every SE layer. Default: 16.
        se_stages: Three bools, one per stage. Default: all. All False is
            the plain pre-activation network.
        se_cfg: Further :class:`SELayer` options (``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``).
        out_indices: Stages whose outputs are returned. Stage 2's output
            has the final BN-ReLU; earlier ones are pre-activation sums.
            Default: (2, ).
        frozen_stages: Freeze the stem and the first N stages (3: the final
            BN too). -1: none. Default: -1.
        norm_eval: Keep every BN in eval mode while training. Default: False.
        conv_cfg, norm_cfg: mmcv layer configs. Default: Conv2d, BN.
        init_cfg: He (fan_out) init of convs, BN to 1 and 0, as in
            ``resnet-pre-act.lua``, ``wide-resnet.lua`` and mmpretrain's
            ResNet.

    Example:
        >>> model = SECifarResNet(depth=164, out_indices=(0, 1, 2)).eval()
        >>> for out in model(torch.rand(1, 3, 32, 32)):
        ...     print(tuple(out.shape))
        (1, 64, 32, 32)
        (1, 128, 16, 16)
        (1, 256, 8, 8)
    """

    # depth = layers * n + offset per unit kind
    depth_rule = {'basic': (6, 2), 'bottleneck': (9, 2)}

    def __init__(self,
                 depth: int = 110,
                 block: Optional[str] = None,
                 base_channels: int = 16,
                 widen_factor: int = 1,
                 drop_rate: float = 0.,
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[list] = KAIMING_INIT) -> None:
        se_stages, se_cfg = check_se_args(se_ratio, se_stages, 3, se_cfg,
                                          'width stage')
        if block is None:
            block = 'bottleneck' if depth >= 164 else 'basic'
        check_choice('block', block, self.depth_rule)
        layers, offset = self.depth_rule[block]
        if not isinstance(depth, int) or depth < layers + offset or (
                depth - offset) % layers:
            raise ValueError(f'depth must be {layers}n+{offset} (n >= 1) with '
                             f'{block} units, got {depth!r}')
        if not 0 <= drop_rate < 1:
            raise ValueError(f'drop_rate must be in [0, 1), got {drop_rate!r}')
        super().__init__(3, out_indices, frozen_stages, norm_eval, init_cfg)
        self.depth = depth

        kernels, expansion = BLOCKS[block]
        n = (depth - offset) // layers
        self.stem = build_conv_layer(
            conv_cfg, 3, base_channels, 3, padding=1, bias=False)
        in_channels = base_channels
        self.stages = nn.ModuleList()
        for s in range(3):
            out_channels = base_channels * widen_factor * 2**s * expansion
            self.stages.append(nn.Sequential(*(
                PreActBlock(
                    in_channels if i == 0 else out_channels, out_channels,
                    kernels, expansion, stride=2 if s and i == 0 else 1,
                    shared_preact=i == 0, drop_rate=drop_rate,
                    with_se=se_stages[s], se_ratio=se_ratio, se_cfg=se_cfg,
                    conv_cfg=conv_cfg, norm_cfg=norm_cfg)
                for i in range(n))))
            in_channels = out_channels
        # The last unit's output is never activated inside a unit ([14]).
        self.norm = build_norm_layer(norm_cfg, in_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = in_channels
        self._freeze_stages()

    def parts(self) -> List[List[nn.Module]]:
        # The final BN-ReLU closes the last stage.
        return [[self.stem], [self.stages[0]], [self.stages[1]],
                [self.stages[2], self.norm, self.relu]]


@MODELS.register_module()
@accepts_pretrained
class SEWideResNet(SECifarResNet):
    """Wide ResNet WRN-d-k [67] with SE blocks (Tables 4-5: WRN-16-8).

    :class:`SECifarResNet` with basic units, WRN's depth count
    (``6n + 4``) and stage widths ``16k, 32k, 64k``. Stages, SE placement
    and the other arguments are :class:`SECifarResNet`'s.

    Args:
        depth: ``6n + 4`` (16: two units per stage). Default: 16.
        widen_factor: k. Default: 8.
        drop_rate: Dropout between the two convs of every unit; the
            WRN-16-8 results of Tables 4-5 (4.27 / 20.43) are without it.
            Default: 0.
        **kwargs: :class:`SECifarResNet` arguments (``se_ratio``,
            ``se_stages``, ``out_indices``, ``frozen_stages`` ...).

    Example:
        >>> model = SEWideResNet(depth=16, widen_factor=8).eval()
        >>> model(torch.rand(1, 3, 32, 32))[0].shape
        torch.Size([1, 512, 8, 8])
    """

    depth_rule = {'basic': (6, 4)}

    def __init__(self, depth: int = 16, widen_factor: int = 8,
                 drop_rate: float = 0., **kwargs) -> None:
        super().__init__(depth=depth, block='basic', widen_factor=widen_factor,
                         drop_rate=drop_rate, **kwargs)
