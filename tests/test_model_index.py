"""model-index.yml, configs/*/metafile.yml, se_plugin.list_models and
``_base_ = 'se_plugin::...'`` in the checkout."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import se_plugin
from se_plugin.analysis.complexity import (config_input_shape, count_macs,
                                           count_params)
from se_plugin.utils.mim import package_root

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def metafile_models() -> dict:
    """Config path -> its entries, over every metafile model-index.yml
    imports."""
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    by_config = {}
    for path in index['Import']:
        for model in yaml.safe_load(open(osp.join(ROOT, path)))['Models']:
            by_config.setdefault(model['Config'], []).append(model)
    return by_config


def test_every_config_is_indexed_once_by_name():
    by_config = metafile_models()
    configs = sorted(
        osp.relpath(p, ROOT)
        for pattern in ('configs/*.py', 'configs/*/*.py')
        for p in glob.glob(osp.join(ROOT, pattern))
        if '/demo/' not in p and '/_base_/' not in p)
    assert sorted(by_config) == configs
    for config, models in by_config.items():
        assert models[0]['Name'] == osp.basename(config)[:-3]
        assert all(m['Metadata']['Parameters'] > 0 for m in models)


# Cheap rows (a few seconds in all): CIFAR nets at 32x32, the mobile nets.
CHEAP = [
    'configs/cifar/seresnet110_1xb128_cifar10.py',
    'configs/cifar/wrn16-8_1xb128_cifar100.py',
    'configs/imagenet/semobilenet-v1_8xb32-mobile_in1k.py',
    'configs/imagenet/seshufflenet-v1-1x-g3_8xb32-mobile_in1k.py',
]


@pytest.mark.parametrize('config', CHEAP)
def test_metafile_figures_are_what_the_complexity_tool_measures(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    shape = config_input_shape(cfg)
    for entry in metafile_models()[config]:
        meta = entry['Metadata']
        assert meta['Parameters'] == count_params(model)
        assert meta['FLOPs'] == count_macs(model, (1, 3, *shape))
        assert meta['Input Size'] == 'x'.join(map(str, shape))


def test_results_belong_to_checkpoints():
    """A Results entry is a checkpoint's figure with its source; a config
    this project has not trained has none (the paper's numbers are in its
    folder's README)."""
    models = [m for ms in metafile_models().values() for m in ms]
    with_results = [m for m in models if 'Results' in m]
    assert with_results, 'no published weights indexed'
    for model in models:
        assert ('Results' in model) == ('Weights' in model), model['Name']
    for model in with_results:
        assert model['Metadata']['Results From'], model['Name']
        assert 'paper' not in model['Metadata']['Results From']


def test_every_folder_readme_lists_its_configs_and_weights():
    """Each metafile's collection points to its folder's README, and that
    README has a row linking every config of the folder and names every
    indexed checkpoint."""
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    for path in index['Import']:
        meta = yaml.safe_load(open(osp.join(ROOT, path)))
        collection, = meta['Collections']
        readme_path = collection['README']
        assert readme_path == osp.join(osp.dirname(path), 'README.md')
        readme = open(osp.join(ROOT, readme_path), encoding='utf-8').read()
        for model in meta['Models']:
            link = osp.relpath(model['Config'], osp.dirname(readme_path))
            assert f']({link})' in readme, (readme_path, model['Config'])
            if 'Weights' in model:
                assert model['Weights'] in readme, (readme_path,
                                                    model['Weights'])


PUBLISHED = sorted((m['Weights'], config)
                   for config, models in metafile_models().items()
                   for m in models if 'Weights' in m)


@pytest.mark.parametrize('name, config', PUBLISHED,
                         ids=[n for n, _ in PUBLISHED])
def test_published_weights_fit_the_config_they_are_indexed_with(
        name, config):
    """``tools/test.py CONFIG NAME`` for each indexed pair passes the
    convention check (hub.check_conventions), which compares the config's
    backbone with the one the converter infers from the publisher's file:
    here the publisher's own model, with random weights (the converter reads
    names and shapes)."""
    import timm
    import torch
    from mmpretrain import get_model

    from se_plugin.converters import hub, senet
    pub = hub.resolve(name)
    if pub.source == 'mmpretrain':
        state = get_model(name.split('://')[1]).state_dict()
    else:
        with torch.device('meta'):
            state = timm.create_model(
                name.split('://')[1].split('.')[0]).state_dict()
    state = {k: v for k, v in state.items()
             if not k.endswith('num_batches_tracked')}
    published = senet.infer_backbone(state, pub.source)
    backbone = Config.fromfile(osp.join(ROOT, config)).model.backbone
    assert hub.differing_conventions(backbone, published) == []


def test_mmpretrain_weights_carry_mmpretrain_accuracy():
    from mmpretrain.apis import ModelHub
    infos = se_plugin.list_models('mmpretrain', with_weights=True)
    assert [m.weights for m in infos] == [
        'mmpretrain://seresnet101_8xb32_in1k',
        'mmpretrain://seresnet50_8xb32_in1k'
    ]
    for info in infos:
        theirs = ModelHub.get(info.weights.split('://')[1]).results[0]
        assert info.metrics == {
            'Top 1 Accuracy': theirs.metrics['Top 1 Accuracy'],
            'Top 5 Accuracy': theirs.metrics['Top 5 Accuracy']
        }
        assert info.config.endswith(
            info.weights.split('://')[1] + '.py')


def test_list_models():
    infos = se_plugin.list_models('seresnet50', with_weights=True)
    by_weights = {m.weights: m for m in infos}
    assert set(by_weights) == {
        'mmpretrain://seresnet50_8xb32_in1k', 'timm://seresnet50.a1_in1k',
        'timm://legacy_seresnet50.in1k'
    }
    legacy = by_weights['timm://legacy_seresnet50.in1k']
    assert legacy.config == osp.join(
        package_root(), 'configs/imagenet/seresnet50_8xb128-paper_in1k.py')
    assert legacy.metrics['Top 1 Accuracy'] == 77.644
    # the complexity table (configs/imagenet/README.md): SE-ResNet-50,
    # caffe style, 224x224
    assert round(legacy.params, 2) == 28.09
    assert round(legacy.gflops, 3) == 3.872
    names = [m.name for m in se_plugin.list_models('faster_rcnn_*')]
    assert names == sorted(names) and len(names) == 4
    assert all(m.gflops is None for m in se_plugin.list_models('faster'))
    assert se_plugin.list_models('no-such-model') == []


def test_se_plugin_base_loads_and_keeps_its_scopes(tmp_path):
    se_plugin.setup()  # se_plugin:: bases: se_plugin.compat
    (tmp_path / 'cls.py').write_text(
        "_base_ = 'se_plugin::imagenet/seresnet50_8xb32_in1k.py'\n"
        "model = dict(head=dict(num_classes=10))\n")
    cfg = Config.fromfile(str(tmp_path / 'cls.py'))
    assert cfg.default_scope == 'mmpretrain'
    assert '_scope_' not in cfg.model  # mmengine would add 'se_plugin'
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert type(model.backbone) is se_plugin.SEResNet
    assert model.head.num_classes == 10


def test_unknown_se_plugin_config_names_the_closest(tmp_path):
    se_plugin.setup()
    (tmp_path / 'bad.py').write_text(
        "_base_ = 'se_plugin::imagenet/seresnet50_8xb32_in1.py'\n")
    with pytest.raises(FileNotFoundError) as err:
        Config.fromfile(str(tmp_path / 'bad.py'))
    assert 'imagenet/seresnet50_8xb32_in1k.py' in str(err.value)
    assert osp.join(package_root(), 'configs') in str(err.value)


def test_other_packages_still_resolve_through_mmengine(tmp_path):
    (tmp_path / 'det.py').write_text(
        "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n")
    cfg = Config.fromfile(str(tmp_path / 'det.py'))
    assert cfg.model._scope_ == 'mmdet'
