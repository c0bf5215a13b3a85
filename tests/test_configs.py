"""Every config under configs/ builds its model and its data pipelines
through the registries (datasets pointed at generated data)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope

from se_plugin import SELayer
from se_plugin.datasets.demo_data import DET_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def point_at_demo(ds_cfg, demo_root):
    kind = ds_cfg['type']
    if 'Places365' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'places365')
    elif 'ImageNet' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'imagenet')
    elif 'Coco' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'coco')
        ds_cfg['metainfo'] = dict(classes=DET_CLASSES)
    else:
        raise AssertionError(f'unexpected dataset type {kind}')
    return ds_cfg


def test_every_task_has_configs():
    names = [osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS]
    assert 'faster_rcnn_se_r50_2x.py' in names
    assert sum(n.startswith('imagenet/') for n in names) == 21
    assert sum(n.startswith('places365/') for n in names) == 2


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_builds_model_and_pipelines(path, demo_root):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['se_plugin']
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    name = osp.basename(path)
    has_se = any(isinstance(m, SELayer) for m in model.modules())
    assert has_se == (name.startswith('se') or '_se_' in name)
    for split in ('train', 'val', 'test'):
        ds_cfg = point_at_demo(cfg[f'{split}_dataloader'].dataset.to_dict(),
                               demo_root)
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) > 0
        sample = dataset[0]
        if cfg.default_scope == 'mmpretrain' and 'demo' not in path:
            assert tuple(sample['inputs'].shape) == (3, 224, 224)
        assert 'data_samples' in sample
