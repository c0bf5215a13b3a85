"""SE-ResNet and SE-ResNeXt as Detectron2 backbones.

:class:`SEResNetBackbone` wraps se_plugin's :class:`~se_plugin.SEResNet` /
:class:`~se_plugin.SEResNeXt` (the mmpretrain-based trunks the MMDetection
configs use, the same modules and weights) in Detectron2's ``Backbone``
interface. The builders read Detectron2's own ``MODEL.RESNETS`` keys (depth,
groups, stride placement, norm, dilation, out features) and ``MODEL.SE``
(:func:`~se_plugin.detectron2.config.add_se_config`), and reuse Detectron2's
FPN, top blocks and FrozenBN.
"""
import logging
from typing import Dict, List, Optional

import torch
from detectron2.layers import FrozenBatchNorm2d, ShapeSpec
from detectron2.modeling.backbone import BACKBONE_REGISTRY, FPN, Backbone
from detectron2.modeling.backbone.fpn import LastLevelMaxPool, LastLevelP6P7
from mmengine.logging import MMLogger
from mmpretrain.models.backbones.resnet import get_expansion

from se_plugin.models.backbones.se_resnet import (SE_POSITIONS, SEResNet,
                                                  SEResNeXt)
from se_plugin.models.layers.se_layer import SELayer
from se_plugin.registry import MODELS

STAGES = ('res2', 'res3', 'res4', 'res5')


class ConfigError(ValueError):
    """A Detectron2 config field se_plugin cannot build; the message names
    the field and what is allowed."""


# Detectron2's MODEL.RESNETS.NORM -> the trunk's norm_cfg. 'FrozenBN' is built
# as BN and converted by Detectron2's FrozenBatchNorm2d.
NORMS = {
    'FrozenBN': dict(type='BN'),
    'BN': dict(type='BN'),
    'SyncBN': dict(type='SyncBN'),
    'GN': dict(type='GN', num_groups=32),
}


class SEResNetBackbone(Backbone):
    """An se_plugin SE-ResNet/SE-ResNeXt trunk as a Detectron2 backbone.

    Args:
        trunk: A built :class:`~se_plugin.SEResNet` or
            :class:`~se_plugin.SEResNeXt` whose ``out_indices`` are those of
            ``out_features``.
        out_features: Names of the stages to return, in ``STAGES``.
        frozen_bn: Convert every BatchNorm to Detectron2's FrozenBatchNorm2d.
        freeze_at: Detectron2's ``MODEL.BACKBONE.FREEZE_AT``: 0 trains
            everything, 1 freezes the stem, k freezes the stem and the first
            k - 1 stages.
        trunk_cfg: The se_plugin backbone dict the trunk was built from;
            the weights' convention check compares it with a checkpoint's.

    Its weights sit under ``trunk.``, with the trunk's own names:
    a Detectron2 checkpoint of
    :func:`~se_plugin.detectron2.weights.detectron2_checkpoint` loads into it.

    Example:
        >>> from detectron2.modeling import build_backbone
        >>> from se_plugin.detectron2 import get_se_cfg
        >>> cfg = get_se_cfg(
        ...     'configs/detectron2/faster_rcnn_se_R_50_FPN_2x.yaml',
        ...     ['MODEL.BACKBONE.NAME', 'build_se_resnet_backbone'])
        >>> backbone = build_backbone(cfg).eval()
        >>> for name, out in backbone(torch.rand(1, 3, 224, 224)).items():
        ...     print(name, tuple(out.shape))
        res2 (1, 256, 56, 56)
        res3 (1, 512, 28, 28)
        res4 (1, 1024, 14, 14)
        res5 (1, 2048, 7, 7)
    """

    def __init__(self, trunk: SEResNet, out_features: List[str],
                 frozen_bn: bool = True, freeze_at: int = 0,
                 trunk_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.trunk = trunk
        self.trunk_cfg = trunk_cfg
        if frozen_bn:
            self.trunk = FrozenBatchNorm2d.convert_frozen_batchnorm(trunk)
        self._out_features = list(out_features)
        self._out_feature_channels = {}
        self._out_feature_strides = {}
        stride = 4  # the stem: stride-2 conv, stride-2 max-pool
        for i, name in enumerate(STAGES):
            stride *= trunk.strides[i]
            self._out_feature_channels[name] = getattr(
                trunk, trunk.res_layers[i])[-1].out_channels
            self._out_feature_strides[name] = stride
        self.freeze(freeze_at)

    def _parts(self) -> List[List[str]]:
        """Names of the trunk's children: the stem, then one per stage."""
        trunk = self.trunk
        stem = ['stem'] if trunk.deep_stem else ['conv1', trunk.norm1_name]
        return [stem] + [[name] for name in trunk.res_layers]

    def freeze(self, freeze_at: int = 0) -> 'SEResNetBackbone':
        """Freeze the stem and the first ``freeze_at - 1`` stages, as
        Detectron2's ResNet: no gradients, BatchNorm made FrozenBN."""
        for names in self._parts()[:freeze_at]:
            for name in names:
                module = getattr(self.trunk, name)
                for p in module.parameters():
                    p.requires_grad = False
                setattr(self.trunk, name,
                        FrozenBatchNorm2d.convert_frozen_batchnorm(module))
        return self

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if x.dim() != 4:
            raise ValueError('SEResNetBackbone takes (N, C, H, W) images, '
                             f'got shape {tuple(x.shape)}')
        return dict(zip(self._out_features, self.trunk(x)))


def _check(field: str, value, ok: bool, allowed: str) -> None:
    if not ok:
        raise ConfigError(f'{field} must be {allowed}, got {value!r}')


def se_trunk_cfg(cfg) -> dict:
    """The se_plugin backbone dict (``type`` and arguments) of the SE trunk
    a Detectron2 config describes: ``MODEL.RESNETS`` for the ResNet and
    ``MODEL.SE`` for the SE layers. Every field is checked and named in the
    error; options the trunk does not have (deformable convs, a stem
    output) are refused, not ignored."""
    if 'SE' not in cfg.MODEL:
        raise ConfigError('the Detectron2 config has no MODEL.SE: call '
                          'se_plugin.detectron2.add_se_config(cfg) before '
                          'merging a config that builds an SE backbone')
    res, se = cfg.MODEL.RESNETS, cfg.MODEL.SE
    depth = res.DEPTH
    arch = SEResNet.arch_settings
    _check('MODEL.RESNETS.DEPTH', depth, depth in arch,
           f'one of {tuple(sorted(arch))}')
    norm = res.NORM
    _check('MODEL.RESNETS.NORM', norm, norm in NORMS,
           f'one of {tuple(NORMS)}')
    out = list(res.OUT_FEATURES)
    _check('MODEL.RESNETS.OUT_FEATURES', out,
           bool(out) and all(o in STAGES for o in out)
           and len(set(out)) == len(out), f'distinct names of {STAGES}')
    out = sorted(out)  # the trunk returns stages in order
    deform = list(res.DEFORM_ON_PER_STAGE)
    _check('MODEL.RESNETS.DEFORM_ON_PER_STAGE', deform, not any(deform),
           'all False (SE blocks have no deformable convolution)')
    dilation = res.RES5_DILATION
    _check('MODEL.RESNETS.RES5_DILATION', dilation, dilation in (1, 2),
           '1 or 2')
    _check('MODEL.SE.POSITION', se.POSITION, se.POSITION in SE_POSITIONS,
           f'one of {SE_POSITIONS}')
    stages = list(se.STAGES)
    _check('MODEL.SE.STAGES', stages,
           len(stages) == 4 and all(isinstance(s, bool) for s in stages),
           '4 bools, one per stage res2..res5')
    ratio = se.RATIO
    _check('MODEL.SE.RATIO', ratio,
           isinstance(ratio, (int, float)) and not isinstance(ratio, bool)
           and ratio > 0, 'a positive number')
    for key in ('SQUEEZE', 'GATE'):
        try:
            SELayer(8, ratio=2, **{key.lower(): se[key]})
        except ValueError as e:
            raise ConfigError(f'MODEL.SE.{key}: {e}') from None
    block, _ = arch[depth]
    expansion = get_expansion(block)
    _check('MODEL.RESNETS.RES2_OUT_CHANNELS', res.RES2_OUT_CHANNELS,
           res.RES2_OUT_CHANNELS % expansion == 0,
           f'a multiple of {expansion} for depth {depth}')
    if expansion == 1:  # Detectron2's own rule for basic blocks
        _check('MODEL.RESNETS.RES2_OUT_CHANNELS', res.RES2_OUT_CHANNELS,
               res.RES2_OUT_CHANNELS == 64, f'64 for depth {depth}')
    groups, width = res.NUM_GROUPS, res.WIDTH_PER_GROUP
    base = res.RES2_OUT_CHANNELS // expansion
    kwargs = dict(
        depth=depth,
        stem_channels=res.STEM_OUT_CHANNELS,
        base_channels=base,
        style='caffe' if res.STRIDE_IN_1X1 else 'pytorch',
        strides=(1, 2, 2, 2 // dilation),
        dilations=(1, 1, 1, dilation),
        out_indices=tuple(STAGES.index(o) for o in out),
        norm_cfg=dict(NORMS[norm], requires_grad=True),
        se_ratio=ratio,
        se_stages=tuple(stages),
        se_position=se.POSITION,
        se_cfg=dict(squeeze=se.SQUEEZE, gate=se.GATE),
        caffe_pool=se.CAFFE_POOL)
    if groups == 1:
        _check('MODEL.RESNETS.WIDTH_PER_GROUP', width, width == base,
               f'{base} (RES2_OUT_CHANNELS / {expansion}) with NUM_GROUPS 1')
        kwargs['type'] = 'se_plugin.SEResNet'
    else:
        _check('MODEL.RESNETS.DEPTH', depth, depth in SEResNeXt.arch_settings,
               f'one of {tuple(sorted(SEResNeXt.arch_settings))} with '
               f'NUM_GROUPS > 1')
        kwargs.update(type='se_plugin.SEResNeXt', groups=groups,
                      width_per_group=width)
    return kwargs


def _trunk_backbone(cfg) -> SEResNetBackbone:
    trunk_cfg = se_trunk_cfg(cfg)
    trunk = MODELS.build(trunk_cfg)
    # The trunk's init_cfg (Kaiming convs, zero-init last BN of each block):
    # Detectron2 never calls mmengine's init_weights itself. mmengine logs
    # each tensor's init at INFO when it has no log file (Detectron2 logs
    # through its own loggers): a few hundred lines, kept out.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        trunk.init_weights()
    finally:
        logger.setLevel(level)
    return SEResNetBackbone(
        trunk, sorted(cfg.MODEL.RESNETS.OUT_FEATURES),
        frozen_bn=cfg.MODEL.RESNETS.NORM == 'FrozenBN',
        freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT,
        trunk_cfg=trunk_cfg)


def _check_input(input_shape: ShapeSpec) -> None:
    if input_shape.channels != 3:
        raise ConfigError('SE backbones take 3-channel images: '
                          'MODEL.PIXEL_MEAN has '
                          f'{input_shape.channels} entries')


@BACKBONE_REGISTRY.register()
def build_se_resnet_backbone(cfg, input_shape: ShapeSpec) -> Backbone:
    """The SE trunk alone (``MODEL.RESNETS.OUT_FEATURES``)."""
    _check_input(input_shape)
    return _trunk_backbone(cfg)


@BACKBONE_REGISTRY.register()
def build_se_resnet_fpn_backbone(cfg, input_shape: ShapeSpec) -> Backbone:
    """Detectron2's FPN (``MODEL.FPN``) on the SE trunk, with P6 by
    max-pool: Faster/Mask R-CNN's ``build_resnet_fpn_backbone`` with SE."""
    _check_input(input_shape)
    return FPN(bottom_up=_trunk_backbone(cfg),
               in_features=cfg.MODEL.FPN.IN_FEATURES,
               out_channels=cfg.MODEL.FPN.OUT_CHANNELS,
               norm=cfg.MODEL.FPN.NORM,
               top_block=LastLevelMaxPool(),
               fuse_type=cfg.MODEL.FPN.FUSE_TYPE)


@BACKBONE_REGISTRY.register()
def build_se_retinanet_resnet_fpn_backbone(cfg,
                                           input_shape: ShapeSpec) -> Backbone:
    """RetinaNet's FPN (P6, P7 from C5) on the SE trunk."""
    _check_input(input_shape)
    bottom_up = _trunk_backbone(cfg)
    in_channels_p6p7 = bottom_up.output_shape()['res5'].channels
    return FPN(bottom_up=bottom_up,
               in_features=cfg.MODEL.FPN.IN_FEATURES,
               out_channels=cfg.MODEL.FPN.OUT_CHANNELS,
               norm=cfg.MODEL.FPN.NORM,
               top_block=LastLevelP6P7(in_channels_p6p7,
                                       cfg.MODEL.FPN.OUT_CHANNELS),
               fuse_type=cfg.MODEL.FPN.FUSE_TYPE)
