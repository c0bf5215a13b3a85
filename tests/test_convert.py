"""Converted weights reproduce their source model's logits (random weights,
built from the reference implementations; nothing is downloaded)."""
import os.path as osp
import subprocess
import sys

import pytest
import timm
import torch
import torch.nn as nn
import torchvision
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

from se_plugin.converters.senet import ConversionError, convert, load_weights

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TIMM = [
    'seresnet18', 'seresnet34', 'seresnet50', 'seresnet101', 'seresnet152',
    'seresnext26d_32x4d', 'seresnext50_32x4d', 'seresnext101_32x4d',
    'seresnext101_64x4d', 'senet154'
]
# Cadene's pretrainedmodels layout, as timm's legacy_* ports reproduce it.
CADENE = [
    'legacy_seresnet18', 'legacy_seresnet34', 'legacy_seresnet50',
    'legacy_seresnet101', 'legacy_seresnet152', 'legacy_seresnext26_32x4d',
    'legacy_seresnext50_32x4d', 'legacy_seresnext101_32x4d', 'legacy_senet154'
]


def randomise(model: nn.Module) -> nn.Module:
    """Random weights and non-trivial BN statistics, in eval mode.

    The last BN of each residual branch gets a small scale, so that
    activations stay O(1) through 150 layers and the logits are O(0.1-1):
    a conversion error then shows as O(0.1), rounding as O(1e-7).
    """
    torch.manual_seed(0)
    modules = dict(model.named_modules())
    for name, m in modules.items():
        if isinstance(m, nn.BatchNorm2d):
            parent = modules.get(name.rpartition('.')[0])
            last = name.endswith('bn3') or (
                name.endswith('bn2') and not hasattr(parent, 'conv3'))
            nn.init.uniform_(m.weight, 0.0, 0.3) if last else nn.init.uniform_(
                m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
            nn.init.uniform_(m.running_mean, -0.1, 0.1)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
    return model.eval()


def max_logit_diff(source_model, state, model_cfg, size=97):
    init_default_scope('mmpretrain')
    ours = MODELS.build(model_cfg).eval()
    ours.load_state_dict(state, strict=True)
    # 97 px: the Caffe stem pool (ceil mode, no padding) changes the size.
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = source_model(x)
        assert expected.abs().max() > 0.05  # a test with teeth
        return (expected - ours(x)).abs().max().item()


def slow_if_deep(names):
    """The 101- to 154-layer models take seconds each: slow."""
    deep = ('101', '152', '154')
    return [
        pytest.param(n, marks=pytest.mark.slow) if any(d in n for d in deep)
        else n for n in names
    ]


@pytest.mark.parametrize('name', slow_if_deep(TIMM + CADENE))
def test_timm_and_cadene_outputs(name):
    source = randomise(timm.create_model(name))
    state, cfg = convert(source.state_dict(),
                         'cadene' if name.startswith('legacy') else 'auto')
    assert max_logit_diff(source, state, cfg) < 1e-4


@pytest.mark.parametrize('depth',
                         [50, pytest.param(101, marks=pytest.mark.slow)])
def test_mmpretrain_seresnet_outputs(depth):
    init_default_scope('mmpretrain')
    source = randomise(MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='SEResNet', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000,
                  in_channels=2048))))
    state, cfg = convert(source.state_dict())
    assert cfg['backbone']['type'] == 'se_plugin.SEResNet'
    assert max_logit_diff(source, state, cfg) < 1e-4


@pytest.mark.parametrize('name', ['resnet18', 'resnet50'])
def test_torchvision_resnet_outputs(name):
    source = randomise(getattr(torchvision.models, name)(weights=None))
    state, cfg = convert(source.state_dict())
    assert cfg['backbone']['se_stages'] == (False, ) * 4
    assert max_logit_diff(source, state, cfg) < 1e-4


def run_tool(*args):
    return subprocess.run(
        [sys.executable, 'tools/model_converters/convert_senet.py', *args],
        cwd=REPO, capture_output=True, text=True)


@pytest.mark.slow  # the tool in subprocesses
def test_tool_writes_checkpoint_config_and_backbone(tmp_path):
    from mmdet.registry import MODELS as DET_MODELS
    from mmpretrain.apis import init_model
    source = randomise(timm.create_model('seresnet50'))
    torch.save(source.state_dict(), tmp_path / 'timm.pth')
    proc = run_tool(str(tmp_path / 'timm.pth'), str(tmp_path / 'ours.pth'),
                    '--out-config', str(tmp_path / 'ours.py'))
    assert proc.returncode == 0, proc.stderr
    model = init_model(str(tmp_path / 'ours.py'), str(tmp_path / 'ours.pth'))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert (model(x) - source(x)).abs().max() < 1e-4

    proc = run_tool(str(tmp_path / 'timm.pth'), str(tmp_path / 'bb.pth'),
                    '--backbone-only')
    assert proc.returncode == 0, proc.stderr
    saved = torch.load(tmp_path / 'bb.pth', weights_only=True)['state_dict']
    assert saved and all(k.startswith('backbone.') for k in saved)
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_se_r50_2x.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'bb.pth')
    init_default_scope('mmdet')
    detector = DET_MODELS.build(cfg.model)
    detector.init_weights()
    backbone = {k: v for k, v in detector.backbone.state_dict().items()
                if not k.endswith('num_batches_tracked')}
    expected = {k[len('backbone.'):]: v for k, v in saved.items()}
    assert set(backbone) - set(expected) == set()  # no missing keys
    for key, value in expected.items():
        assert torch.equal(backbone[key], value), key


@pytest.mark.slow  # the tool in a subprocess
def test_corrupt_truncated_and_foreign_files(tmp_path):
    source = timm.create_model('seresnet18')
    good = tmp_path / 'good.pth'
    torch.save(source.state_dict(), good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ConversionError, match='not a readable'):
        load_weights(str(truncated))
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint at all')
    with pytest.raises(ConversionError, match='not a readable'):
        load_weights(str(garbage))
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        load_weights(str(tmp_path / 'nowhere.pth'))
    with pytest.raises(ConversionError, match='cannot tell the source'):
        convert({'encoder.weight': torch.zeros(3)})
    proc = run_tool(str(garbage), str(tmp_path / 'out.pth'))
    assert proc.returncode != 0 and 'not a readable' in proc.stderr


def test_mis_shaped_and_unknown_keys_are_listed():
    state = randomise(timm.create_model('seresnet18')).state_dict()
    state['layer1.0.conv1.weight'] = torch.zeros(64, 64, 1, 1)
    state['layer1.0.extra.weight'] = torch.zeros(1)
    with pytest.raises(ConversionError) as err:
        convert(state)
    message = str(err.value)
    assert 'backbone.layer1.0.conv1.weight: (64, 64, 1, 1) vs (64, 64, 3, 3)' \
        in message
    assert 'backbone.layer1.0.extra.weight' in message


def test_senet154_converts_to_its_backbone():
    _, cfg = convert(timm.create_model('legacy_senet154').state_dict())
    assert cfg['backbone']['type'] == 'se_plugin.SENet154'
    assert cfg['backbone']['caffe_pool']


def test_se_ratio_is_read_off_the_weights():
    init_default_scope('mmpretrain')
    source = randomise(MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='SEResNet', depth=50, se_ratio=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=2048))))
    state, cfg = convert(source.state_dict())
    assert cfg['backbone']['se_ratio'] == 8
    assert max_logit_diff(source, state, cfg, size=64) < 1e-4


def test_se_widths_of_no_single_ratio_say_so():
    state = timm.create_model('seresnet18').state_dict()
    state['layer1.0.se.fc1.weight'] = torch.zeros(5, 64, 1, 1)
    with pytest.raises(ConversionError,
                       match='fit no single reduction ratio.*r=16'):
        convert(state)
