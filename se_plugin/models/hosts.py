"""SE blocks on backbones nobody here wrote: :func:`add_se` and ``AddSE``.

Where SE goes is a rule per block family, keyed on the block's class (its
import path), never guessed from attribute names. A rule swaps the block
instance's class for a subclass of the host block (``(mixin, host)``, made
once per host class) whose forward places SE:

* the host's parameters keep their names and SE lives at ``<block>.se``
  (timm's own ``se`` slot, so timm's SE-ResNet keys match), so plain host
  checkpoints load with only SE keys missing;
* ``isinstance`` checks of the host (``zero_init_residual``,
  ``frozen_stages``) still hold;
* SE is part of the block's own forward, so ``deepcopy``, SyncBN or
  Detectron2 FrozenBN conversion (which replace norm children) and
  ``torch.compile`` keep it; forward hooks would be lost or graph-broken
  there, and filling timm's slot alone would keep timm's forward, which
  saves each block's BN output for backward;
* ResNet-family forwards share :class:`SEResidualForward` with se_plugin's
  own SE-ResNets: positions, ``with_cp``, drop path and the lean training
  tail (``layers/lean_se.py``) are written once.

Host libraries are never imported here: a rule is looked up by the import
path of a block the model already has.

Example:
    >>> from mmpretrain.models import ResNet
    >>> model = add_se(ResNet(depth=18), ratio=16)
    >>> model.layer1[0].se.in_channels, model.layer4[1].se.in_channels
    (64, 512)
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from se_plugin.registry import MODELS
from se_plugin.utils.checks import check_choice
from .layers.se_layer import SELayer, check_se_args
from .layers.se_residual import (SE_POSITIONS, BasicResidual,
                                 BottleneckResidual, SEResidualForward)


class _TorchvisionBasicResidual(SEResidualForward):
    """torchvision's ``BasicBlock`` branch: conv1, bn1, relu, conv2, bn2."""

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = self.conv2(self.relu(self.bn1(self.conv1(x))))
        return self.bn2(out) if norm else out


class _TorchvisionBottleneckResidual(SEResidualForward):
    """torchvision's ``Bottleneck`` branch: conv1-3 with bn1-3."""

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        if self.se_position == '3x3':
            out = self.se(out)
        out = self.conv3(out)
        return self.bn3(out) if norm else out


class _TimmBasicResidual(SEResidualForward):
    """timm's ``BasicBlock`` branch (conv1, bn1, drop_block, act1, aa,
    conv2, bn2); SE fills timm's own ``se`` slot, ``act2`` ends the block."""

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    @property
    def out_act(self) -> nn.Module:
        return self.act2

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = self.aa(self.act1(self.drop_block(self.bn1(self.conv1(x)))))
        out = self.conv2(out)
        return self.bn2(out) if norm else out


class _TimmBottleneckResidual(SEResidualForward):
    """timm's ``Bottleneck`` branch (conv1-3, bn1-3, drop_block, aa); SE
    fills timm's own ``se`` slot, ``act3`` ends the block."""

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    @property
    def out_act(self) -> nn.Module:
        return self.act3

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(out)))))
        if self.se_position == '3x3':
            out = self.se(out)
        out = self.conv3(out)
        return self.bn3(out) if norm else out


class _InvertedResidualSE:
    """mmpretrain's MobileNetV2 ``InvertedResidual`` with SE after the
    depthwise conv (its BN and ReLU6), before the linear 1x1 projection:
    where MobileNetV3 and EfficientNet place it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            out = x
            for layer in self.conv[:-1]:  # [expand 1x1,] depthwise 3x3
                out = layer(out)
            out = self.conv[-1](self.se(out))
            return x + out if self.use_res_connect else out

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


def _out_channels(last_conv: str) -> Callable[[nn.Module, str], int]:
    """SE channels of a residual block: its input for ``'pre'``, the 3x3
    conv's output for ``'3x3'``, else the output of ``last_conv``."""

    def channels(block: nn.Module, position: str) -> int:
        if position == 'pre':
            return block.conv1.in_channels
        if position == '3x3':
            return block.conv2.out_channels
        return getattr(block, last_conv).out_channels

    return channels


@dataclass(frozen=True)
class BlockRule:
    """Where SE goes in one block family.

    Args:
        family: The family's name in messages and the README table.
        where: Where SE sits at the standard position, in words.
        positions: The ``position`` values the block allows.
        channels: ``(block, position) -> SE channels``.
        mixin: The class whose forward places SE; the block becomes an
            instance of ``(mixin, host block class)``.
    """

    family: str
    where: str
    positions: Tuple[str, ...]
    channels: Callable[[nn.Module, str], int]
    mixin: type


_OPENMMLAB = ('mmpretrain', 'mmdet', 'mmseg')
_BASIC = BlockRule(
    'OpenMMLab ResNet BasicBlock', 'after norm2, before the sum',
    SE_POSITIONS[:4], _out_channels('conv2'), BasicResidual)
_BOTTLENECK = BlockRule(
    'OpenMMLab ResNet/ResNeXt Bottleneck', 'after norm3, before the sum',
    SE_POSITIONS, _out_channels('conv3'), BottleneckResidual)

# Host block class (import path) -> rule. The exact class: a subclass may
# run its own forward (Res2Net's Bottle2neck, ResNeSt's Bottleneck), so it
# needs its own rule and is refused without one.
RULES: Dict[str, BlockRule] = {
    **{f'{lib}.models.backbones.resnet.BasicBlock': _BASIC
       for lib in _OPENMMLAB},
    **{f'{lib}.models.backbones.{mod}.Bottleneck': _BOTTLENECK
       for lib in _OPENMMLAB for mod in ('resnet', 'resnext')},
    'mmpretrain.models.backbones.mobilenet_v2.InvertedResidual': BlockRule(
        'mmpretrain MobileNetV2 InvertedResidual',
        'after the depthwise 3x3 conv, before the 1x1 projection',
        ('standard', ),
        lambda block, position: block.conv[-1].conv.in_channels,
        _InvertedResidualSE),
    'timm.models.resnet.BasicBlock': BlockRule(
        'timm ResNet BasicBlock', "timm's se slot: after bn2, before the sum",
        SE_POSITIONS[:4], _out_channels('conv2'), _TimmBasicResidual),
    'timm.models.resnet.Bottleneck': BlockRule(
        'timm ResNet Bottleneck', "timm's se slot: after bn3, before the sum",
        SE_POSITIONS, _out_channels('conv3'), _TimmBottleneckResidual),
    'torchvision.models.resnet.BasicBlock': BlockRule(
        'torchvision ResNet BasicBlock', 'after bn2, before the sum',
        SE_POSITIONS[:4], _out_channels('conv2'), _TorchvisionBasicResidual),
    'torchvision.models.resnet.Bottleneck': BlockRule(
        'torchvision ResNet Bottleneck', 'after bn3, before the sum',
        SE_POSITIONS, _out_channels('conv3'), _TorchvisionBottleneckResidual),
}

# (host class, mixin) -> their subclass, made once
_SE_CLASSES: Dict[Tuple[type, type], type] = {}


def _path(cls: type) -> str:
    return f'{cls.__module__}.{cls.__qualname__}'


def supported_families() -> List[str]:
    """The block families :func:`add_se` has a rule for, as
    ``'family (import path)'``."""
    return [f'{rule.family} ({path})' for path, rule in RULES.items()]


def rule_for(module: nn.Module) -> Optional[BlockRule]:
    """The SE rule of ``module``'s class; None for a module that is no
    block of a supported family (a stem, a fuse layer, a head).

    Raises:
        ValueError: The module already has SE from :func:`add_se`, or its
            class subclasses a supported block without a rule of its own.
    """
    cls = type(module)
    if cls in _SE_CLASSES.values():
        raise ValueError(f'{_path(cls)} already has SE (added by add_se)')
    rule = RULES.get(_path(cls))
    if rule is not None:
        return rule
    for base in cls.__mro__[1:]:
        if _path(base) in RULES:
            raise ValueError(
                f'add_se has no rule for {_path(cls)}: it subclasses '
                f'{_path(base)} but may run its own forward, so where SE '
                'goes is not known. Supported block families: '
                + '; '.join(supported_families()))
    return None


def _se_class(host: type, mixin: type) -> type:
    """``(mixin, host)``: the host block with SE in its forward."""
    cls = _SE_CLASSES.get((host, mixin))
    if cls is None:
        cls = type(f'SE{host.__name__}', (mixin, host), {
            '__module__': __name__,
            '__doc__': f'{_path(host)} with SE at ``self.se`` (add_se).',
        })
        _SE_CLASSES[host, mixin] = cls
    return cls


def find_stages(model: nn.Module,
                blocks: Sequence[nn.Module]) -> List[Tuple[str, nn.Module]]:
    """The stages of ``model``: the children that hold ``blocks``, below
    any single container that holds them all (a detector's ``backbone``,
    ``TIMMBackbone.timm_model``), in registration order.

    ResNet gives ``layer1``-``layer4``, HRNet ``layer1`` and
    ``stage2``-``stage4``, mmpretrain's MobileNetV2 ``layer1``-``layer7``.
    A container whose children are blocks is one stage.
    """
    ids = {id(b) for b in blocks}

    def holds(module):
        return any(id(m) in ids for m in module.modules())

    prefix, node = '', model
    while True:
        holders = [(name, child) for name, child in node.named_children()
                   if holds(child)]
        if (len(holders) == 1 and id(holders[0][1]) not in ids and not any(
                id(c) in ids for c in holders[0][1].children())):
            prefix += holders[0][0] + '.'
            node = holders[0][1]
            continue
        if id(node) in ids or any(id(c) in ids for c in node.children()):
            return [(prefix.rstrip('.'), node)]  # a block or a block list
        return [(prefix + name, child) for name, child in holders]


class _IdentityInitMixin:
    """Re-applies SE's identity initialisation after the host's own
    ``init_weights`` (whose Kaiming init of every ``Conv2d`` would re-draw
    SE's zeroed ``fc2``), except for SE layers a checkpoint just loaded
    (the host's ``init_cfg`` Pretrained with SE weights)."""

    def init_weights(self) -> None:
        loaded = set()

        def mark_loaded(module, state_dict, prefix, *args):
            if prefix + 'fc2.weight' in state_dict:
                loaded.add(id(module))

        ses = [
            m for m in self.modules()
            if isinstance(m, SELayer) and getattr(m, '_identity_init', False)
        ]
        handles = [
            se.register_load_state_dict_pre_hook(mark_loaded) for se in ses
        ]
        try:
            super().init_weights()
        finally:
            for handle in handles:
                handle.remove()
        for se in ses:
            if id(se) not in loaded:
                se.identity_init()


def add_se(model: nn.Module,
           ratio: float = 16,
           stages: Optional[Sequence[bool]] = None,
           position: str = 'standard',
           se_cfg: Optional[dict] = None,
           identity_init: bool = False) -> nn.Module:
    """Add an SE layer to every block of a supported family in ``model``.

    Modifies ``model`` in place and returns it. Host parameter and buffer
    names do not change; each SE layer is ``<block>.se``, so a plain host
    checkpoint loads with only the SE keys missing. Blocks of a frozen
    stage (no host parameter trainable) get a frozen SE.

    Args:
        model: Any ``nn.Module`` holding supported blocks: an mmpretrain,
            mmdet or mmseg backbone, a timm or torchvision ResNet, a whole
            detector (:func:`supported_families`).
        ratio: Reduction ratio r of every SE layer (Table 10). Default: 16.
        stages: One bool per stage (:func:`find_stages`): which stages get
            SE (Table 13). Default: all.
        position: ``'standard'`` (Fig. 5: on the residual branch after its
            last norm, before the sum), ``'pre'``, ``'post'``,
            ``'identity'`` or ``'3x3'`` (bottlenecks), where the block
            family allows it (:data:`RULES`).
        se_cfg: Further :class:`SELayer` options (``squeeze``, ``gate``,
            ``bias``, ``divisor``, ``fused``, ``lean``).
        identity_init: Start every SE at a scale of exactly 1 (gate
            ``'2sigmoid'``, zero ``fc2``), so the model starts as the host:
            recommended when fine-tuning from plain pretrained weights. A
            sigmoid gate at init scales by about 0.5, halving every residual
            branch. Kept through the host's ``init_weights``.

    Returns:
        ``model``, with SE layers.

    Raises:
        ValueError: ``model`` has no block of a supported family (the
            message names its class and the supported families), a block
            family does not allow ``position``, or an SE argument is bad.

    Example:
        >>> import torchvision
        >>> model = add_se(torchvision.models.resnet18(), ratio=16)
        >>> model.layer4[1].se.in_channels
        512
        >>> model(torch.rand(1, 3, 64, 64)).shape
        torch.Size([1, 1000])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'add_se needs an nn.Module, got {type(model)!r}')
    check_choice('position', position, SE_POSITIONS)
    if not isinstance(identity_init, bool):
        raise ValueError(
            f'identity_init must be True or False, got {identity_init!r}')
    blocks = [(name, m, rule) for name, m in model.named_modules()
              for rule in [rule_for(m)] if rule is not None]
    if not blocks:
        raise ValueError(
            f'add_se has no rule for {_path(type(model))}: none of its '
            'modules is a block of a supported family, so no SE would be '
            'added. Supported block families: '
            + '; '.join(supported_families()))
    stage_list = find_stages(model, [m for _, m, _ in blocks])
    names = ', '.join(name or type(model).__name__ for name, _ in stage_list)
    stages, se_cfg = check_se_args(ratio, stages, len(stage_list), se_cfg,
                                   f'stage ({names})', prefix='')
    if identity_init:
        se_cfg.setdefault('gate', '2sigmoid')
    # Every SE layer is built before any block changes: bad input leaves
    # the model as it was.
    chosen = {
        id(m)
        for (_, stage), on in zip(stage_list, stages) if on
        for m in stage.modules()
    }
    plan = []
    for name, block, rule in blocks:
        if id(block) not in chosen:
            continue
        if position not in rule.positions:
            raise ValueError(
                f'position {position!r} is not allowed in {name} '
                f'({_path(type(block))}, {rule.family}): allowed '
                f'{rule.positions}')
        slot = getattr(block, 'se', None)  # timm's is None without SE
        if slot is not None:
            raise ValueError(f'{name} ({_path(type(block))}) already has an '
                             f'se: {type(slot).__name__}')
        se = SELayer(rule.channels(block, position), ratio=ratio, **se_cfg)
        if identity_init:
            se.identity_init()
            se._identity_init = True  # for _IdentityInitMixin
        plan.append((block, rule, se))
    for block, rule, se in plan:
        params = list(block.parameters())
        if params and not any(p.requires_grad for p in params):
            se.requires_grad_(False)  # the host froze this block's stage
        se.train(block.training)
        block.__class__ = _se_class(type(block), rule.mixin)
        block.se_position = position
        block.se = se
    if identity_init and hasattr(model, 'init_weights'):
        model.__class__ = _se_class(type(model), _IdentityInitMixin)
    return model


@MODELS.register_module()
def AddSE(backbone: Union[dict, nn.Module, None] = None,  # noqa: N802
          ratio: float = 16,
          stages: Optional[Sequence[bool]] = None,
          position: str = 'standard',
          se_cfg: Optional[dict] = None,
          identity_init: bool = False,
          pretrained: Optional[str] = None,
          host: Optional[str] = None,
          **host_args) -> nn.Module:
    """Build a host backbone and add SE blocks to it (:func:`add_se`).

    Returns the host backbone itself, not a wrapper: its state-dict keys,
    ``out_indices``, ``frozen_stages``, ``norm_eval``, ``init_cfg`` and
    ``init_weights`` are the host's, so a plain host or detector checkpoint
    loads with only the SE keys missing. (A function, registered as a
    config ``type`` as mmengine allows: no module of its own.)

    Two forms: ``backbone=dict(type='mmdet.HRNet', extra=...)``, or
    ``host='HRNet'`` beside the host's own arguments, which is what a config
    that inherits the host's config writes (the inherited arguments stay,
    no ``_delete_``)::

        _base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
        custom_imports = dict(imports=['se_plugin'],
                              allow_failed_imports=False)
        model = dict(backbone=dict(type='se_plugin.AddSE', host='ResNet',
                                   identity_init=True))

    Args:
        backbone: The host's config (built in the current default scope;
            outside a Runner give the scope, ``'mmdet.HRNet'``) or a built
            module.
        ratio, stages, position, se_cfg, identity_init: as :func:`add_se`.
        pretrained: mmseg's model-level ``pretrained=`` (its
            ``EncoderDecoder`` hands it to the backbone): a path or URL
            becomes the host's ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)``, as mmseg's backbones do; a bool is
            the host's own (``TIMMBackbone``'s).
        host: The host's registered type, with ``host_args``.
        **host_args: The host's arguments (with ``host``).
    """
    if host is not None:
        if backbone is not None:
            raise ValueError('AddSE: give backbone=dict(type=...) or host= '
                             f"with the host's arguments, not both "
                             f'(backbone={backbone!r}, host={host!r})')
        backbone = dict(type=host, **host_args)
    elif host_args:
        raise ValueError(
            f'AddSE got unexpected arguments {sorted(host_args)}: a host\'s '
            "arguments go beside host='<type>' or inside "
            "backbone=dict(type='<type>', ...)")
    elif backbone is None:
        raise ValueError("AddSE needs the host: backbone=dict(type=...) or "
                         "host='<type>' with the host's arguments")
    if pretrained is not None and not isinstance(backbone, dict):
        raise ValueError('AddSE: pretrained= needs the host as a config, '
                         f'got a built {type(backbone).__name__}')
    if isinstance(pretrained, str):
        if backbone.get('init_cfg') or backbone.get('pretrained'):
            raise ValueError(
                f'AddSE: pretrained={pretrained!r} and the host\'s own '
                f"init_cfg={backbone.get('init_cfg')!r} / pretrained="
                f"{backbone.get('pretrained')!r} both set its weights; "
                'keep one')
        backbone = dict(
            backbone, init_cfg=dict(type='Pretrained', checkpoint=pretrained))
    elif pretrained is not None:  # the host's own (TIMMBackbone's bool)
        backbone = dict(backbone, pretrained=pretrained)
    if isinstance(backbone, dict):
        backbone = MODELS.build(backbone)
    elif not isinstance(backbone, nn.Module):
        raise ValueError('AddSE: backbone must be a config dict or an '
                         f'nn.Module, got {type(backbone).__name__}')
    return add_se(backbone, ratio=ratio, stages=stages, position=position,
                  se_cfg=se_cfg, identity_init=identity_init)
