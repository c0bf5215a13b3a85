import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import se_plugin
from se_plugin import SELayer, SEResNet

TINY = dict(stem_channels=8, base_channels=8)


def test_classifier_from_mmpretrain_scope():
    from mmpretrain.models import SEResNet as MMPretrainSEResNet
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='se_plugin.SEResNet', depth=18, **TINY),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=64)))
    assert type(model.backbone) is SEResNet
    # mmpretrain's own SEResNet is neither shadowed nor replaced.
    assert MODELS.get('SEResNet') is MMPretrainSEResNet
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5)


@pytest.mark.parametrize('backbone,channels', [
    (dict(type='se_plugin.SEResNet', depth=50, **TINY), [32, 64, 128, 256]),
    # SE-ResNeXt-101 64x4d and SENet-154 (the detection backbones),
    # narrowed: 8 groups of 1 channel per group in the first stage.
    (dict(type='se_plugin.SEResNeXt', depth=101, groups=8, width_per_group=1,
          **TINY), [32, 64, 128, 256]),
    (dict(type='se_plugin.SENet154', groups=4, stem_channels=16,
          base_channels=8), [32, 64, 128, 256]),
], ids=['SEResNet', 'SEResNeXt', 'SENet154'])
def test_detector_backbone_from_mmdet_scope(backbone, channels):
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromstring(
        "_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'", '.py')
    cfg.model.backbone = dict(
        backbone, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True)
    cfg.model.neck.in_channels = channels
    cfg.model.neck.out_channels = 16
    detector = MODELS.build(cfg.model)
    assert type(detector.backbone).__name__ == backbone['type'].split('.')[1]
    detector.train()
    assert not any(p.requires_grad
                   for p in detector.backbone.layer1.parameters())
    assert not any(m.training for m in detector.backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))  # norm_eval
    feats = detector.extract_feat(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [16] * 5


def test_se_layer_as_mmdet_resnet_plugin():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = dict(type='ResNet', depth=50, out_indices=(3, ), **{
        'base_channels': 8, 'stem_channels': 8})
    plain = MODELS.build(cfg)
    plugged = MODELS.build(
        dict(cfg, plugins=[
            dict(cfg=dict(type='se_plugin.SELayer', ratio=4),
                 stages=(False, True, True, True), position='after_conv3')
        ]))
    plain.eval()
    plugged.eval()
    se = [m for m in plugged.modules() if isinstance(m, SELayer)]
    assert len(se) == 4 + 6 + 3
    assert {m.in_channels for m in se} == {64, 128, 256}
    # Same weights outside the SE layers: the plugin is what changes output.
    missing, unexpected = plugged.load_state_dict(plain.state_dict(),
                                                  strict=False)
    assert not unexpected and all('se' in k for k in missing)
    calls = []
    se[0].register_forward_hook(lambda *args: calls.append(1))
    x = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(plain(x)[0], plugged(x)[0])
    assert calls == [1]


def test_scoped_name_resolves_from_the_root_registry():
    from mmengine.registry import MODELS
    assert MODELS.get('se_plugin.SEResNeXt') is se_plugin.SEResNeXt
    assert MODELS.get('se_plugin.SELayer') is SELayer


def test_config_custom_imports_build():
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile('configs/imagenet/seresnet50_8xb32_in1k.py')
    assert cfg.custom_imports.imports == ['se_plugin']
    assert cfg.default_scope == 'mmpretrain'
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert type(model.backbone) is SEResNet and model.backbone.se_ratio == 16
