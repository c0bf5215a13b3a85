"""SENet-154 (appendix): SE blocks on a modified 64x4d ResNeXt-152.

Its differences from SE-ResNeXt-152, each a few lines here: a three-conv
stem (64, 64, 128 channels), bottlenecks whose first 1x1 conv is half the
3x3 conv's width (in -> 2p -> 4p -> 4p), 3x3 stride-2 shortcut convs, and the
Caffe stem pool. Layout and weights follow Cadene's port of the released
model (timm's ``legacy_senet154``); ``caffe_pool=False`` gives timm's
``senet154``.
"""
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmpretrain.models.backbones.resnet import Bottleneck

from se_plugin.registry import MODELS
from .pretrained import accepts_pretrained
from .se_resnet import SEResNeXt, _SEBottleneckResidual


class _Net154Bottleneck(Bottleneck):
    """conv1 1x1 in -> 2p, conv2 3x3 (grouped) 2p -> 4p, conv3 1x1 4p -> 4p,
    where 4p is the block's output width."""

    def __init__(self, in_channels: int, out_channels: int, groups: int = 64,
                 width_per_group: int = 4, base_channels: int = 64,
                 **kwargs) -> None:
        super().__init__(in_channels, out_channels, **kwargs)
        wide = out_channels  # 4p
        narrow = out_channels // 2  # 2p
        self.mid_channels = wide  # what the 3x3 conv outputs
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, narrow, 1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, wide, 2)
        self.conv1 = build_conv_layer(
            self.conv_cfg, in_channels, narrow, 1, stride=self.conv1_stride,
            bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            self.conv_cfg, narrow, wide, 3, stride=self.conv2_stride,
            padding=self.dilation, dilation=self.dilation, groups=groups,
            bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(
            self.conv_cfg, wide, out_channels, 1, bias=False)


class SE154Bottleneck(_SEBottleneckResidual, _Net154Bottleneck):
    """SENet-154's bottleneck with an optional SE layer."""


@MODELS.register_module()
@accepts_pretrained
class SENet154(SEResNeXt):
    """SENet-154: the winning ILSVRC 2017 model (Table 8, appendix).

    Args:
        depth: 154 (3, 8, 36, 3 blocks). Default: 154.
        groups: Groups of the 3x3 convs. Default: 64.
        caffe_pool: Stem max-pool in ceil mode without padding, as the
            released model. Default: True.
        **kwargs: :class:`SEResNeXt` arguments (``se_ratio``, ``se_stages``,
            ``out_indices``, ``frozen_stages``, ``norm_eval`` ...).

    Example:
        >>> model = SENet154(out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 256, 56, 56)
        (1, 512, 28, 28)
        (1, 1024, 14, 14)
        (1, 2048, 7, 7)
    """

    arch_settings = {154: (SE154Bottleneck, (3, 8, 36, 3))}

    def __init__(self, depth: int = 154, groups: int = 64,
                 caffe_pool: bool = True, **kwargs) -> None:
        # The appendix fixes the block widths and the shortcuts; these
        # ResNeXt options would be ignored or break the 3x3 shortcuts.
        for field in ('width_per_group', 'avg_down'):
            if kwargs.get(field):
                raise ValueError(
                    f'{field} is not an option of SENet154: its bottlenecks '
                    'are in -> 2p -> 4p -> 4p and its stride-2 shortcuts 3x3 '
                    'convs (appendix); use SEResNeXt for other layouts')
        kwargs.setdefault('deep_stem', True)
        kwargs.setdefault('stem_channels', 128)
        super().__init__(depth=depth, groups=groups, caffe_pool=caffe_pool,
                         **kwargs)

    def make_res_layer(self, **kwargs) -> nn.Module:
        layer = super().make_res_layer(**kwargs)
        shortcut = layer[0].downsample
        if shortcut is not None and kwargs['stride'] != 1:
            conv = shortcut[0]
            shortcut[0] = build_conv_layer(
                self.conv_cfg, conv.in_channels, conv.out_channels, 3,
                stride=kwargs['stride'], padding=1, bias=False)
        return layer
