"""se_plugin: Squeeze-and-Excitation networks for OpenMMLab.

``import se_plugin`` registers every module under the registry scope
``se_plugin`` (``type='se_plugin.SEResNet'``), lets mmengine load
se_plugin's own training checkpoints with ``weights_only=True`` and makes
published weights loadable by name (``timm://legacy_seresnet50.in1k``,
``mmpretrain://seresnet50_8xb32_in1k``: :mod:`se_plugin.converters.hub`),
and makes every mmengine checkpoint load that fails say in one line which
file and why (:mod:`se_plugin.utils.checkpoint_errors`).
"""
from .datasets import CocoDataset, ImageNet, Places365
from .engine import RNGStateHook
from .evaluation import ValLoss
from .models import (SEVGG, DropoutLinearClsHead, SEBNInception,
                     SECifarResNet, SEInceptionResNetV2, SELayer,
                     SEMobileNetV1, SENet154, SEResNet, SEResNeXt,
                     SEShuffleNetV1, SEWideResNet)
from .apis import get_model
from .converters.hub import register_schemes
from .utils.checkpoint import allow_mmengine_checkpoints
from .utils.checkpoint_errors import explain_mmengine_checkpoint_errors
from .version import __version__

allow_mmengine_checkpoints()
explain_mmengine_checkpoint_errors()
register_schemes()

__all__ = [
    'CocoDataset', 'DropoutLinearClsHead', 'ImageNet', 'Places365',
    'RNGStateHook', 'SEBNInception', 'SECifarResNet', 'SEInceptionResNetV2',
    'SELayer', 'SEMobileNetV1', 'SENet154', 'SEResNeXt', 'SEResNet',
    'SEShuffleNetV1', 'SEVGG', 'SEWideResNet', 'ValLoss', '__version__',
    'get_model'
]
