"""Every config under configs/ builds its model and its data pipelines
through the registries (datasets pointed at generated data)."""
import glob
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope

from se_plugin import SELayer
from se_plugin.testing.demo_data import DET_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)
# CIFAR configs read the official pickled batches: tests/test_cifar.py
# writes those and runs the CIFAR configs.
CONFIGS = [p for p in ALL_CONFIGS if '/cifar/' not in p]


def make_cityscapes(root):
    """Two 64x32 images per split in Cityscapes' layout (mmseg's
    CityscapesDataset): leftImg8bit/ and gtFine/ label-train-id maps."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for i in range(2):
            for sub, suffix, shape, high in (
                    ('leftImg8bit', 'leftImg8bit', (32, 64, 3), 256),
                    ('gtFine', 'gtFine_labelTrainIds', (32, 64), 19)):
                folder = osp.join(root, sub, split, 'demo')
                os.makedirs(folder, exist_ok=True)
                cv2.imwrite(osp.join(folder, f'demo_{i}_{suffix}.png'),
                            rng.integers(0, high, shape, dtype=np.uint8))
    return root


def point_at_demo(ds_cfg, demo_root):
    kind = ds_cfg['type']
    if 'Places365' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'places365')
    elif 'ImageNet' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'imagenet')
    elif 'Coco' in kind:
        ds_cfg['data_root'] = osp.join(demo_root, 'coco')
        ds_cfg['metainfo'] = dict(classes=DET_CLASSES)
    elif 'Cityscapes' in kind:
        ds_cfg['data_root'] = make_cityscapes(osp.join(demo_root, 'city'))
    else:
        raise AssertionError(f'unexpected dataset type {kind}')
    return ds_cfg


# The paper's experiments (Tables 2-7) and their configs, by path.
PAPER_CONFIGS = [
    'faster_rcnn_se_r50_2x.py', 'faster_rcnn_r50_2x.py',  # Table 7
    'faster_rcnn_se_r101_2x.py', 'faster_rcnn_r101_2x.py',
    'places365/seresnet152_8xb32_places365.py',  # Table 6
    *[f'cifar/{m}_1xb128_{d}.py'  # Tables 4-5
      for m in ('seresnet110', 'seresnet164', 'sewrn16-8')
      for d in ('cifar10', 'cifar100')],
    *[f'imagenet/{m}_8xb128-paper_in1k.py'  # Table 2, the paper's recipe
      for m in ('seresnet50', 'seresnet101', 'seresnet152',
                'seresnext50-32x4d', 'seresnext101-32x4d', 'sevgg16bn',
                'sebninception', 'seinception-resnet-v2')],
    'imagenet/semobilenet-v1_8xb32-mobile_in1k.py',  # Table 3
    'imagenet/seshufflenet-v1-1x-g3_8xb32-mobile_in1k.py',
    'imagenet/senet154_8xb32_in1k.py',  # Table 8
]


def relative(path):
    return osp.relpath(path, osp.join(REPO, 'configs'))


def test_every_experiment_has_an_se_config_and_its_plain_twin():
    names = {relative(p) for p in ALL_CONFIGS}
    missing = [n for n in PAPER_CONFIGS if n not in names]
    assert not missing, missing
    twins = {relative(se_twin(p)) for p in PLAIN}
    se_configs = {n for n in PAPER_CONFIGS
                  if osp.basename(n).startswith('se') or '_se_' in n}
    assert se_configs - twins == {'imagenet/senet154_8xb32_in1k.py'}


def chain_depth(path):
    """``_base_`` levels below ``path`` inside configs/ (``pkg::`` bases
    are the host's and do not count)."""
    bases = Config._get_base_files(path)
    local = [osp.normpath(osp.join(osp.dirname(path), b))
             for b in bases if '::' not in b]
    return max([1 + chain_depth(b) for b in local], default=0)


@pytest.mark.parametrize('path', ALL_CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in ALL_CONFIGS])
def test_config_chains_are_short_and_never_delete(path):
    """At most two _base_ levels inside our tree; no leaf inherits another
    model's leaf and replaces its backbone with _delete_."""
    assert chain_depth(path) <= 2
    assert '_delete_' not in open(path, encoding='utf-8').read()


@pytest.fixture
def no_weight_init(monkeypatch):
    """Convolutions and linear layers keep their memory as allocated: what
    a config builds is checked here, not its weights, and drawing up to
    115M random weights was most of these tests' time."""
    import torch.nn as nn
    for layer in (nn.modules.conv._ConvNd, nn.Linear):
        monkeypatch.setattr(layer, 'reset_parameters', lambda self: None)


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_builds_model_and_pipelines(path, demo_root, no_weight_init):
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
            size = 299 if 'inception-resnet' in name else 224  # Sec. 5.1
            assert tuple(sample['inputs'].shape) == (3, size, size)
        assert 'data_samples' in sample


def se_twin(path):
    """configs/x/resnet50_... -> configs/x/seresnet50_...; Faster R-CNN:
    faster_rcnn_r50_2x -> faster_rcnn_se_r50_2x."""
    folder, name = osp.split(path)
    if name.startswith('faster_rcnn_r'):
        return osp.join(folder,
                        name.replace('faster_rcnn_r', 'faster_rcnn_se_r'))
    return osp.join(folder, 'se' + name)


PLAIN = [p for p in ALL_CONFIGS if '/demo/' not in p
         and not osp.basename(p).startswith('se') and '_se_' not in p]


@pytest.mark.parametrize('path', PLAIN,
                         ids=[osp.relpath(p, REPO) for p in PLAIN])
def test_plain_config_is_its_se_twin_with_se_off(path):
    """Each baseline differs from its SE config in se_stages alone (and a
    detector in its ImageNet checkpoint and that checkpoint's input
    normalisation: MSRA's plain Caffe release against the paper's SE one)."""
    plain = Config.fromfile(path).to_dict()
    twin = Config.fromfile(se_twin(path)).to_dict()
    if 'pretrained' in plain:
        assert plain.pop('pretrained').startswith('open-mmlab://detectron2/')
        assert twin.pop('pretrained').startswith('timm://legacy_seresnet')
        plain['model']['backbone'].pop('init_cfg')
        twin['model']['backbone'].pop('init_cfg')
        plain['model'].pop('data_preprocessor')
        twin['model'].pop('data_preprocessor')
    stages = plain['model']['backbone'].pop('se_stages')
    assert stages and not any(stages)
    assert twin['model']['backbone'].pop('se_stages', None) in (None, (
        True, ) * len(stages), [True] * len(stages))
    assert plain == twin
