"""Convert SE-ResNet/SE-ResNeXt weights from timm, Cadene's
pretrainedmodels, mmpretrain and torchvision to se_plugin classifiers.

The architecture is read off the weights (blocks per stage, bottleneck or
basic, groups, SE widths, deep stem, average-pool shortcut); each family's
conventions that weights cannot show (where the stride sits, the Caffe stem
pool) come from the family. Every source key must land on a model key of the
same shape, or the conversion fails listing the keys by name.
"""
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, Tuple

import torch

from se_plugin.analysis.classifier import classifier
from se_plugin.utils.checkpoint_errors import checkpoint_problem

SOURCES = ('timm', 'cadene', 'mmpretrain', 'torchvision')
# (blocks per stage, bottleneck?) -> depth
DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((2, 2, 2, 2), True): 26,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}
IMAGENET_MEAN = [123.675, 116.28, 103.53]  # RGB, 0-255: every source's
IMAGENET_STD = [58.395, 57.12, 57.375]


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message says why."""


def load_weights(path: str) -> Dict[str, torch.Tensor]:
    """Read a state dict from a .pth/.pt (weights only) or .safetensors."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'SRC: {path} does not exist')
    try:
        if path.endswith('.safetensors'):
            from safetensors.torch import load_file
            state = load_file(path)
        else:
            state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # truncated, corrupt, or carrying code
        # The reason says which; torch's own text would follow it unasked.
        raise ConversionError(
            f'SRC: {path} is not a readable weights-only checkpoint: '
            '{}: {}'.format(*checkpoint_problem(path, e))) from None
    for key in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f'{path} holds no state dict of tensors')
    return {k.removeprefix('module.'): v for k, v in state.items()}


def detect_source(state: Dict[str, torch.Tensor]) -> str:
    if any(k.startswith('backbone.') for k in state):
        return 'mmpretrain'
    if 'layer0.conv1.weight' in state or 'last_linear.weight' in state:
        return 'cadene'
    if any('.se.' in k for k in state) or 'conv1.0.weight' in state:
        return 'timm'
    if 'conv1.weight' in state and 'fc.weight' in state:
        return 'torchvision'
    raise ConversionError(
        'cannot tell the source: no known SE-ResNet/ResNet layout (keys '
        f'start {sorted(state)[:4]}); pass --source one of {SOURCES}')


_SE = re.compile(
    r'\.(se|se_module|se_layer)\.(fc1|fc2|conv1|conv2)(\.conv)?\.')


def _stem_names(source: str, deep_stem: bool) -> tuple:
    """(source prefix, se_plugin prefix) pairs of the stem's layers."""
    if source == 'cadene' and deep_stem:  # SENet-154: layer0.conv1..bn3
        return tuple((f'layer0.{kind}{i + 1}.', f'stem.{i}.{kind}.')
                     for i in range(3) for kind in ('conv', 'bn'))
    if source == 'cadene':
        return (('layer0.conv1.', 'conv1.'), ('layer0.bn1.', 'bn1.'))
    if deep_stem:  # timm: conv1 = Sequential(conv, bn, act, conv, bn, act,
        # conv), then bn1
        return (('conv1.0.', 'stem.0.conv.'), ('conv1.1.', 'stem.0.bn.'),
                ('conv1.3.', 'stem.1.conv.'), ('conv1.4.', 'stem.1.bn.'),
                ('conv1.6.', 'stem.2.conv.'), ('bn1.', 'stem.2.bn.'))
    return ()


def _rename(key: str, source: str, deep_stem: bool) -> str:
    """Source key -> se_plugin classifier key."""
    key = _SE.sub(lambda m: '.se.fc1.' if m.group(2) in ('fc1', 'conv1')
                  else '.se.fc2.', key)
    if source == 'mmpretrain':
        return key
    for old, new in _stem_names(source, deep_stem):
        if key.startswith(old):
            key = new + key[len(old):]
            break
    if key.startswith(('fc.', 'last_linear.')):
        return 'head.fc.' + key.split('.', 1)[1]
    return 'backbone.' + key


def infer_backbone(state: Dict[str, torch.Tensor], source: str) -> dict:
    """The se_plugin backbone config that the weights belong to."""
    if source == 'mmpretrain':
        state = {k[len('backbone.'):]: v for k, v in state.items()
                 if k.startswith('backbone.')}
    blocks = tuple(
        len({k.split('.')[1] for k in state if k.startswith(f'layer{i}.')})
        for i in range(1, 5))
    bottleneck = 'layer1.0.conv3.weight' in state
    if (blocks, bottleneck) not in DEPTHS:
        raise ConversionError(
            f'{blocks} blocks per stage '
            f'({"bottleneck" if bottleneck else "basic"}) is none of the '
            f'known depths {sorted(set(DEPTHS.values()))}')
    conv1 = state['layer1.0.conv1.weight']
    conv2 = state['layer1.0.conv2.weight']
    groups = conv1.shape[0] // conv2.shape[1]
    # SENet-154: the first 1x1 conv is half as wide as the 3x3 conv.
    senet154 = bottleneck and conv1.shape[0] * 2 == conv2.shape[0]
    deep_stem = any(k in state for k in (
        'conv1.0.weight', 'layer0.conv3.weight', 'stem.0.conv.weight'))
    # timm 'd' models: avg-pool shortcut, so index 1 of the shortcut is a conv.
    shortcut = state.get('layer2.0.downsample.1.weight')
    avg_down = shortcut is not None and shortcut.dim() == 4
    se_stages = tuple(
        any(re.match(rf'layer{i}\.\d+\.(se|se_module|se_layer)\.', k)
            for k in state) for i in range(1, 5))
    backbone = dict(
        type='se_plugin.SEResNeXt' if groups > 1 else 'se_plugin.SEResNet',
        depth=DEPTHS[(blocks, bottleneck)],
        out_indices=(3, ),
        # Caffe's SE-ResNets stride in the first 1x1; its SE-ResNeXts and
        # every other source in the 3x3.
        style='caffe' if source == 'cadene' and groups == 1 and bottleneck
        else 'pytorch',
        se_stages=se_stages)
    if senet154:
        backbone = dict(type='se_plugin.SENet154', out_indices=(3, ),
                        groups=groups, se_stages=se_stages,
                        caffe_pool=source == 'cadene')
    else:
        if groups > 1:
            backbone.update(
                groups=groups, width_per_group=conv2.shape[0] // groups)
        if deep_stem:
            backbone.update(deep_stem=True, stem_channels=64)
        if avg_down:
            backbone.update(avg_down=True)
        if source == 'cadene':
            backbone.update(caffe_pool=True)
            if not bottleneck:  # timm's legacy_seresnet18/34
                backbone.update(branch_relu=True)
    if any(se_stages):
        se_keys = {k: _SE.search('.' + k) for k in state}
        widths = {k: tuple(v.shape[:2]) for k, v in state.items()
                  if se_keys[k] and se_keys[k].group(2) in ('fc1', 'conv1')
                  and k.endswith('weight')}
        ratio, divisor = infer_se_ratio(widths)
        se_cfg = dict(bias=any(se_keys[k] and k.endswith('bias')
                               for k in state))
        if divisor:
            se_cfg['divisor'] = divisor  # timm and mmpretrain round widths
        backbone.update(se_ratio=ratio, se_cfg=se_cfg)
    return backbone


def infer_se_ratio(widths: Dict[str, Tuple[int, int]]) -> Tuple[float, int]:
    """The reduction ratio r and width divisor that give every SE layer's
    bottleneck width.

    Args:
        widths: SE key -> (squeeze channels, channels) of its first fc.

    Returns:
        ``(r, divisor)``; divisor 0: widths are ``C // r``, else rounded to
        multiples of it (timm, mmpretrain).
    """
    from mmpretrain.models.utils import make_divisible

    # The widest layer is the least distorted by rounding.
    squeeze, channels = max(widths.values(), key=lambda w: w[1])
    ratio = channels / squeeze
    ratio = int(round(ratio)) if abs(ratio - round(ratio)) < 1e-6 else ratio
    for divisor in (0, 8):
        if all(s == (make_divisible(c / ratio, divisor) if divisor else
                     max(1, int(c // ratio))) for s, c in widths.values()):
            return ratio, divisor
    shown = ', '.join(f'{k}: {c}->{s}' for k, (s, c) in
                      sorted(widths.items())[:6])
    raise ConversionError(
        f'the SE widths fit no single reduction ratio: the widest layer '
        f'gives r={ratio:g} ({channels}->{squeeze}), which predicts other '
        f'widths than {shown}, ... (neither C // r nor rounded to 8)')


def _pair_shortcuts(mapped: dict, target_keys) -> dict:
    """Shortcut modules are numbered differently (timm puts an Identity in
    front of stride-1 average-pool shortcuts): pair them in order."""
    groups = defaultdict(list)
    for key in list(mapped):
        m = re.match(r'(.*\.downsample\.)(\d+)\.(.*)', key)
        if m:
            groups[m.group(1)].append((int(m.group(2)), m.group(3), key))
    for prefix, items in groups.items():
        wanted = sorted(
            (int(k[len(prefix):].split('.')[0]), k) for k in target_keys
            if k.startswith(prefix))
        indices = sorted({i for i, _, _ in items})
        target_indices = sorted({i for i, _ in wanted})
        if len(indices) != len(target_indices):
            continue  # reported as missing/unexpected below
        renumber = dict(zip(indices, target_indices))
        for index, rest, key in items:
            mapped[f'{prefix}{renumber[index]}.{rest}'] = mapped.pop(key)
    return mapped


def convert(state: Dict[str, torch.Tensor],
            source: str = 'auto') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Return (se_plugin classifier state dict, its model config)."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    if source == 'auto':
        source = detect_source(state)
    if source not in SOURCES:
        raise ConversionError(
            f'source must be one of {SOURCES + ("auto", )}, got {source!r}')
    state = {k: v for k, v in state.items()
             if not k.endswith('num_batches_tracked')}
    head = 'head.fc.weight' if source == 'mmpretrain' else (
        'last_linear.weight' if source == 'cadene' else 'fc.weight')
    if head not in state:
        raise ConversionError(f'no classifier weights {head!r} in the '
                              f'{source} checkpoint')
    num_classes = state[head].shape[0]
    model_cfg = classifier(
        infer_backbone(state, source), num_classes,
        data_preprocessor=dict(
            num_classes=num_classes, mean=IMAGENET_MEAN, std=IMAGENET_STD,
            to_rgb=True))
    init_default_scope('mmpretrain')
    target = MODELS.build(model_cfg).state_dict()
    target = {k: v for k, v in target.items()
              if not k.endswith('num_batches_tracked')}
    deep_stem = model_cfg['backbone'].get(
        'deep_stem', model_cfg['backbone']['type'] == 'se_plugin.SENet154')
    mapped = {_rename(k, source, deep_stem): v for k, v in state.items()}
    mapped = _pair_shortcuts(mapped, target)
    missing = sorted(set(target) - set(mapped))
    unexpected = sorted(set(mapped) - set(target))
    mis_shaped = sorted(
        f'{k}: {tuple(mapped[k].shape)} vs {tuple(target[k].shape)}'
        for k in set(mapped) & set(target)
        if mapped[k].shape != target[k].shape)
    if missing or unexpected or mis_shaped:
        raise ConversionError(
            f'the {source} weights do not fit {model_cfg["backbone"]}:\n'
            f'  missing: {missing}\n  unexpected: {unexpected}\n'
            f'  mis-shaped: {mis_shaped}')
    return mapped, model_cfg


def classifier_config(model_cfg: dict):
    """An mmpretrain config (``mmengine.Config``) around a converted
    classifier: what ``mmpretrain.apis.init_model`` and its inferencers
    need (ImageNet's evaluation pipeline: short edge 256, centre crop 224).
    """
    from mmengine.config import Config
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackInputs'),
    ]
    return Config(
        dict(
            custom_imports=dict(
                imports=['se_plugin'], allow_failed_imports=False),
            default_scope='mmpretrain',
            model=model_cfg,
            test_pipeline=test_pipeline,
            # Where mmpretrain's inferencers read the pipeline from; no data.
            test_dataloader=dict(
                dataset=dict(type='CustomDataset', pipeline=test_pipeline))))


def config_text(model_cfg: dict, src: str, source: str) -> str:
    """An mmpretrain config that ``mmpretrain.apis.init_model`` can use."""
    return (f'# Converted from {src} ({source}) by '
            'tools/model_converters/convert_senet.py\n' +
            classifier_config(model_cfg).pretty_text)
