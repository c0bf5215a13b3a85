"""se_plugin's registry nodes.

Each node is a child of mmengine's root registry under the scope
``se_plugin``, so ``type='se_plugin.SEResNet'`` resolves from mmdet's,
mmpretrain's or any other OpenMMLab 2.x default scope without shadowing a
class of the same name elsewhere (mmpretrain has its own ``SEResNet``).
Pattern: ``mmdet/registry.py``.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='se_plugin',
    locations=['se_plugin.models'])
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='se_plugin',
    locations=['se_plugin.datasets'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='se_plugin',
    locations=['se_plugin.engine'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, scope='se_plugin',
    locations=['se_plugin.evaluation'])
