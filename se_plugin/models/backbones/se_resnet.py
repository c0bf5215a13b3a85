"""SE-ResNet and SE-ResNeXt (Table 1) as options on mmpretrain's ResNet.

The backbones subclass mmpretrain's ``ResNet``/``ResNeXt`` and swap in
residual blocks that carry one optional SE layer. Everything else (stem,
``style``, ``frozen_stages``, ``norm_eval``, ``with_cp``,
``zero_init_residual``, ``init_cfg``) is the host's, so with every SE stage
off the backbone is mmpretrain's ResNet, weight for weight and output for
output.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmpretrain.models.backbones.resnext import Bottleneck as XBottleneck
from mmpretrain.models.backbones.resnext import ResNeXt

from se_plugin.registry import MODELS
from se_plugin.utils.checks import (check_choice, check_frozen_stages,
                                    check_out_indices)
from ..layers.se_layer import SELayer, check_se_args
from ..layers.se_residual import (SE_POSITIONS, BasicResidual,
                                  BottleneckResidual)
from .pretrained import NamedPrefixMixin, accepts_pretrained


class SEResidualMixin:
    """Adds one SE layer to an mmpretrain residual block.

    ``se_position`` places it as :class:`SEResidualForward` says (Fig. 5):
    ``'standard'``, ``'pre'``, ``'post'``, ``'identity'`` or ``'3x3'``.
    ``branch_relu`` ends a basic block's residual branch in a ReLU, before
    SE and the sum (timm's ``legacy_seresnet18/34``).
    """

    def __init__(self,
                 *args,
                 with_se: bool = True,
                 se_ratio: float = 16,
                 se_position: str = 'standard',
                 se_cfg: Optional[dict] = None,
                 branch_relu: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.se_position = se_position
        self.branch_relu = branch_relu
        self.se = None
        if with_se:
            channels = {
                'pre': self.in_channels,
                '3x3': getattr(self, 'mid_channels', None),
            }.get(se_position, self.out_channels)
            self.se = SELayer(channels, ratio=se_ratio, **(se_cfg or {}))

    @property
    def se_lean_ok(self) -> bool:
        return not self.branch_relu and super().se_lean_ok

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = super().residual(x, norm)
        return self.relu(out) if norm and self.branch_relu else out


class SEBasicBlock(SEResidualMixin, BasicResidual, BasicBlock):
    """mmpretrain's BasicBlock with an optional SE layer."""


class _SEBottleneckResidual(SEResidualMixin, BottleneckResidual):
    pass


class SEBottleneck(_SEBottleneckResidual, Bottleneck):
    """mmpretrain's ResNet Bottleneck with an optional SE layer."""


class SEXBottleneck(_SEBottleneckResidual, XBottleneck):
    """mmpretrain's ResNeXt Bottleneck with an optional SE layer."""


class SEBackboneMixin(NamedPrefixMixin):
    """The SE arguments shared by every se_plugin ResNet-family backbone.

    Validates them before the host builds anything and hands each stage's
    blocks their SE settings through ``make_res_layer``.
    """

    def __init__(self,
                 depth: int,
                 se_ratio: float = 16,
                 se_stages: Optional[Sequence[bool]] = None,
                 se_position: str = 'standard',
                 se_cfg: Optional[dict] = None,
                 caffe_pool: bool = False,
                 branch_relu: bool = False,
                 **kwargs) -> None:
        check_choice('depth', depth, self.arch_settings)
        num_stages = kwargs.get('num_stages', 4)
        check_choice('num_stages', num_stages, (1, 2, 3, 4))
        self._check_stage_args(num_stages, kwargs)
        se_stages, se_cfg = check_se_args(se_ratio, se_stages, num_stages,
                                          se_cfg)
        check_choice('se_position', se_position, SE_POSITIONS)
        block = self.arch_settings[depth][0]
        if se_position == '3x3' and not issubclass(block, Bottleneck):
            raise ValueError(
                "se_position='3x3' needs bottleneck blocks (depth >= 50); "
                f'depth {depth} uses basic blocks')
        if branch_relu and issubclass(block, Bottleneck):
            raise ValueError('branch_relu is a basic-block option (depth 18 '
                             f'or 34); depth {depth} uses bottlenecks')
        style = kwargs.get('style', 'pytorch')
        check_choice('style', style, ('pytorch', 'caffe'))
        self.se_ratio = se_ratio
        self.se_stages = se_stages
        self.se_position = se_position
        self.se_cfg = se_cfg
        self.branch_relu = branch_relu
        super().__init__(depth=depth, **kwargs)
        if caffe_pool:
            self.maxpool = nn.MaxPool2d(
                kernel_size=3, stride=2, ceil_mode=True)

    @staticmethod
    def _check_stage_args(num_stages: int, kwargs: dict) -> None:
        # The host asserts on these (a bare AssertionError) or, for a
        # too-large frozen_stages, fails in train() looking for layer5.
        for field in ('strides', 'dilations'):
            if field in kwargs and len(kwargs[field]) != num_stages:
                raise ValueError(f'{field} must have {num_stages} entries '
                                 f'(num_stages), got {kwargs[field]!r}')
        if 'out_indices' in kwargs:
            kwargs['out_indices'] = check_out_indices(kwargs['out_indices'],
                                                      num_stages)
        check_frozen_stages(kwargs.get('frozen_stages', -1), num_stages)

    def train(self, mode: bool = True) -> nn.Module:
        # mmpretrain's ResNet.train returns None, breaking `model.eval()(x)`.
        super().train(mode)
        return self

    def make_res_layer(self, **kwargs) -> nn.Module:
        # The host builds stages in order and appends each after this call.
        stage = len(self.res_layers)
        return super().make_res_layer(
            with_se=self.se_stages[stage],
            se_ratio=self.se_ratio,
            se_position=self.se_position,
            se_cfg=self.se_cfg,
            branch_relu=self.branch_relu,
            **kwargs)


@MODELS.register_module()
@accepts_pretrained
class SEResNet(SEBackboneMixin, ResNet):
    """SE-ResNet (Table 1): mmpretrain's ResNet with SE blocks.

    Args:
        depth: 18, 34, 26, 50, 101 or 152 (26: 2 bottlenecks per stage).
        se_ratio: Reduction ratio r of every SE layer (Table 10). Default: 16.
        se_stages: One bool per stage: which stages get SE blocks
            (Table 13). Default: all. All False is the plain ResNet.
        se_position: ``'standard'``, ``'pre'``, ``'post'``, ``'identity'``
            (Fig. 5, Table 14) or ``'3x3'`` (Table 15, depth >= 50).
        se_cfg: Further :class:`SELayer` options: ``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``, ``lean`` (default True: in
            training the standard position keeps no BN output for backward;
            ``lean=False`` is autograd's own graph).
        caffe_pool: Stem max-pool with ``ceil_mode=True`` and no padding,
            as the Caffe release (Cadene's and timm's ``legacy_*`` ports).
        branch_relu: A ReLU ending each basic block's residual branch,
            before SE and the sum (timm's ``legacy_seresnet18/34``).
        **kwargs: mmpretrain ``ResNet`` arguments: ``out_indices``,
            ``frozen_stages``, ``norm_eval``, ``style`` (``'caffe'`` puts
            the stride on the first 1x1 conv, as in the paper's released
            models), ``with_cp``, ``zero_init_residual``, ``norm_cfg``,
            ``base_channels``, ``init_cfg`` ...; and ``pretrained``, which
            mmseg's segmentors pass: a deprecated spelling of
            ``init_cfg=dict(type='Pretrained', checkpoint=...)``, as in
            mmseg's backbones (every se_plugin backbone takes it:
            ``pretrained.py``).

    Example:
        >>> model = SEResNet(depth=50, out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 256, 56, 56)
        (1, 512, 28, 28)
        (1, 1024, 14, 14)
        (1, 2048, 7, 7)
    """

    arch_settings = {
        depth: (SEBottleneck if block is Bottleneck else SEBasicBlock, blocks)
        for depth, (block, blocks) in ResNet.arch_settings.items()
    }
    arch_settings[26] = (SEBottleneck, (2, 2, 2, 2))  # timm's and Cadene's


@MODELS.register_module()
@accepts_pretrained
class SEResNeXt(SEBackboneMixin, ResNeXt):
    """SE-ResNeXt (Table 1): mmpretrain's ResNeXt with SE blocks.

    Args:
        depth: 26, 50, 101 or 152.
        groups: Groups of the 3x3 conv (the C of "32x4d"). Default: 32.
        width_per_group: Channels per group in the first stage (the "4d").
            Default: 4.
        se_ratio, se_stages, se_position, se_cfg, **kwargs: as
            :class:`SEResNet`.

    Example:
        >>> model = SEResNeXt(depth=50, groups=32, width_per_group=4).eval()
        >>> model(torch.rand(1, 3, 224, 224))[0].shape
        torch.Size([1, 2048, 7, 7])
    """

    arch_settings = {
        depth: (SEXBottleneck, blocks)
        for depth, (_, blocks) in ResNeXt.arch_settings.items()
    }
    arch_settings[26] = (SEXBottleneck, (2, 2, 2, 2))  # seresnext26
