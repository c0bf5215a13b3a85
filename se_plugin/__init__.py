"""se_plugin: Squeeze-and-Excitation networks for OpenMMLab.

``import se_plugin`` registers every module under the registry scope
``se_plugin`` (``type='se_plugin.SEResNet'``), lets mmengine load
se_plugin's own training checkpoints with ``weights_only=True`` and lets
configs inherit ours from any directory (``_base_ = 'se_plugin::...'``).
"""
from .datasets import CocoDataset, ImageNet, Places365
from .engine import RNGStateHook
from .evaluation import ValLoss
from .models import (SEVGG, DropoutLinearClsHead, SEBNInception,
                     SECifarResNet, SEInceptionResNetV2, SELayer,
                     SEMobileNetV1, SENet154, SEResNet, SEResNeXt,
                     SEShuffleNetV1, SEWideResNet)
from .model_index import ModelInfo, list_models
from .utils.checkpoint import allow_mmengine_checkpoints
from .utils.mim import register_config_scheme
from .version import __version__

allow_mmengine_checkpoints()
register_config_scheme()

__all__ = [
    'CocoDataset', 'DropoutLinearClsHead', 'ImageNet', 'ModelInfo',
    'Places365', 'RNGStateHook', 'SEBNInception', 'SECifarResNet',
    'SEInceptionResNetV2', 'SELayer', 'SEMobileNetV1', 'SENet154',
    'SEResNeXt', 'SEResNet', 'SEShuffleNetV1', 'SEVGG', 'SEWideResNet',
    'ValLoss', '__version__', 'list_models'
]
