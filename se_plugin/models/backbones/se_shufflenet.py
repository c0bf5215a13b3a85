"""SE-ShuffleNet (Table 3): SE on mmpretrain's ShuffleNetV1.

As in SE-ResNet, the SE layer scales a unit's residual branch (after its
last BN) before the branch meets the shortcut: before the sum in a stride-1
unit, before the ReLU and the concatenation in a stride-2 unit, whose branch
is ``out - in`` channels wide. Everything else is the host's, so with every
SE stage off the backbone is mmpretrain's ShuffleNetV1, weight for weight.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmpretrain.models.backbones.shufflenet_v1 import ShuffleNetV1, ShuffleUnit
from mmpretrain.models.utils import channel_shuffle

from se_plugin.registry import MODELS
from se_plugin.utils.checks import check_choice, check_out_indices
from ..layers.se_layer import SELayer, check_se_args
from .pretrained import NamedPrefixMixin, accepts_pretrained


class SEShuffleUnit(ShuffleUnit):
    """mmpretrain's ShuffleUnit with an optional SE layer on its branch."""

    def __init__(self,
                 *args,
                 with_se: bool = True,
                 se_ratio: float = 16,
                 se_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The host has already narrowed out_channels to the branch width.
        self.se = (SELayer(self.out_channels, ratio=se_ratio, **(se_cfg or {}))
                   if with_se else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
            if self.groups > 1:
                out = channel_shuffle(out, self.groups)
            out = self.g_conv_1x1_expand(out)
            if self.combine == 'concat':
                if self.se is not None:
                    out = self.se(out)
                return torch.cat((self.avgpool(x), self.act(out)), 1)
            if self.se is None:
                return self.act(x + out)
            return self.act(self.se(out, identity=x))  # fused scale + sum

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


@MODELS.register_module()
@accepts_pretrained
class SEShuffleNetV1(NamedPrefixMixin, ShuffleNetV1):
    """SE-ShuffleNet (Table 3, "ShuffleNet 1x (g=3)"): mmpretrain's
    ShuffleNetV1 with an SE layer in every ShuffleUnit.

    A stage is one of ShuffleNet's three stages (Stage 2, 3, 4 of the
    ShuffleNet paper: 4, 8 and 4 units).

    Args:
        groups: Groups of the 1x1 group convs: 1, 2, 3, 4 or 8. Default: 3.
        se_ratio: Reduction ratio r of every SE layer. Default: 16.
        se_stages: One bool per stage. Default: all. All False is
            mmpretrain's ShuffleNetV1.
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``.
        out_indices: Stages (0, 1, 2) whose outputs are returned.
            Default: (2, ).
        frozen_stages: Freeze the stem and the first N stages (-1 to 2);
            unlike the host, a frozen stem's BN is kept in eval mode too.
            Default: -1.
        **kwargs: mmpretrain ``ShuffleNetV1`` arguments: ``widen_factor``,
            ``norm_eval``, ``with_cp``, ``conv_cfg``, ``norm_cfg``,
            ``act_cfg``, ``init_cfg``.

    Example:
        >>> model = SEShuffleNetV1(groups=3, out_indices=(0, 1, 2)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 240, 28, 28)
        (1, 480, 14, 14)
        (1, 960, 7, 7)
    """

    def __init__(self,
                 groups: int = 3,
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_cfg: Optional[dict] = None,
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 **kwargs) -> None:
        self.se_stages, self.se_cfg = check_se_args(
            se_ratio, se_stages, 3, se_cfg)
        self.se_ratio = se_ratio
        check_choice('groups', groups, (1, 2, 3, 4, 8))
        out_indices = check_out_indices(out_indices, 3)
        # The host freezes at most the stem and two of its three stages.
        check_choice('frozen_stages', frozen_stages, range(-1, 3))
        super().__init__(groups=groups, out_indices=out_indices,
                         frozen_stages=frozen_stages, **kwargs)

    def make_layer(self, out_channels: int, num_blocks: int,
                   first_block: bool = False) -> nn.Sequential:
        # The host's loop with SE units; it appends each stage after this.
        with_se = self.se_stages[len(self.layers)]
        units = []
        for i in range(num_blocks):
            units.append(
                SEShuffleUnit(
                    self.in_channels,
                    out_channels,
                    groups=self.groups,
                    first_block=first_block and i == 0,
                    combine='concat' if i == 0 else 'add',
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                    with_se=with_se,
                    se_ratio=self.se_ratio,
                    se_cfg=self.se_cfg))
            self.in_channels = out_channels
        return nn.Sequential(*units)

    def _freeze_stages(self) -> None:
        super()._freeze_stages()
        if self.frozen_stages >= 0:
            self.conv1.eval()  # the host freezes the stem's weights only

    def train(self, mode: bool = True) -> nn.Module:
        # mmpretrain's ShuffleNetV1.train returns None.
        super().train(mode)
        return self
