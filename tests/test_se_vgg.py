"""SEVGG on mmpretrain's VGG: SE after every conv's ReLU."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.registry import init_default_scope
from mmpretrain.models.backbones import VGG

from se_plugin import SELayer
from se_plugin.models.backbones import SEVGG
from helpers import constant_gate, randomize_bn, se_layers

VGG11_CHANNELS = (64, 128, 256, 512, 512)
MOBILENET_BLOCKS = (1, 2, 2, 6, 2)  # blocks per stage, 13 in all
QUARTER_CHANNELS = (16, 32, 64, 128, 256)  # widen_factor=0.25


pytestmark = pytest.mark.usefixtures('one_thread')


def vgg_stage(model, i):
    start, end = model.range_sub_modules[i]
    return list(model.features[start:end])


# The arguments every backbone takes: tests/test_models.py.
@pytest.mark.parametrize('kwargs,field', [
    (dict(depth=15), 'depth'),
    (dict(depth=11, num_stages=6), 'num_stages'),
    (dict(depth=11, dilations=(1, 1)), 'dilations'),
    (dict(depth=11, out_indices=(5, )), 'out_indices'),
])
def test_vgg_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEVGG(**kwargs)


@pytest.mark.parametrize('depth', [11, 16])
def test_vgg_se_follows_every_conv(depth):
    model = SEVGG(depth=depth)
    for i, blocks in enumerate(SEVGG.arch_settings[depth]):
        stage = vgg_stage(model, i)
        # conv-BN-ReLU, SE, ..., max-pool: one SE layer per conv
        assert len(stage) == 2 * blocks + 1
        assert isinstance(stage[-1], nn.MaxPool2d)
        for conv, se in zip(stage[0:-1:2], stage[1:-1:2]):
            assert isinstance(conv, ConvModule) and conv.with_norm
            assert conv.order == ('conv', 'norm', 'act')
            assert isinstance(se, SELayer)
            assert se.in_channels == conv.out_channels == VGG11_CHANNELS[i]
    assert len(se_layers(model)) == sum(SEVGG.arch_settings[depth])


def test_vgg_se_stages_and_ratio_place_the_layers():
    model = SEVGG(depth=16, se_stages=(False, True, False, True, False),
                  se_ratio=8)
    per_stage = [
        len([m for m in vgg_stage(model, i) if isinstance(m, SELayer)])
        for i in range(5)
    ]
    assert per_stage == [0, 2, 0, 3, 0]
    assert {(se.in_channels, se.squeeze_channels)
            for se in se_layers(model)} == {(128, 16), (512, 64)}


def test_vgg_se_scales_the_relu_output():
    model = SEVGG(depth=11).eval()
    conv, se = model.features[0], model.features[1]
    c = constant_gate(se)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        relu_out = conv(x)
        assert relu_out.min() == 0  # the ReLU ran before the SE layer
        torch.testing.assert_close(model.features[:2](x), c * relu_out)


@pytest.mark.parametrize('kwargs', [
    dict(depth=11),
    dict(depth=11, norm_cfg=None),
    dict(depth=13, with_last_pool=False, dilations=(1, 1, 1, 2, 2)),
])
def test_vgg_plain_twin_equals_mmpretrain(kwargs):
    kwargs = {'norm_cfg': dict(type='BN'), 'out_indices': (0, 1, 2, 3, 4),
              **kwargs}
    ours = SEVGG(se_stages=(False, ) * 5, **kwargs)
    ref = VGG(**kwargs)
    assert not se_layers(ours)
    assert repr(ours.features) == repr(ref.features)
    assert ours.range_sub_modules == ref.range_sub_modules
    assert list(ours.state_dict()) == list(ref.state_dict())
    torch.manual_seed(0)
    ref.init_weights()
    randomize_bn(ref)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 32, 32)
    for mode in ('eval', 'train'):
        getattr(ours, mode)()
        getattr(ref, mode)()
        outs, ref_outs = ours(x), ref(x)
        assert len(outs) == len(ref_outs) == 5
        assert all(torch.equal(a, b) for a, b in zip(outs, ref_outs))


def test_vgg_defaults_to_batch_norm_and_default_out_indices():
    assert isinstance(SEVGG(depth=11).features[0].bn, nn.BatchNorm2d)
    assert SEVGG(depth=11).out_indices == (4, )


def test_vgg_classifier_stays_in_the_backbone():
    # 4 stages without the last pool end at 512x7x7 from a 56x56 input.
    model = SEVGG(depth=11, num_classes=10, num_stages=4,
                  dilations=(1, 1, 1, 1), with_last_pool=False).eval()
    assert [m.out_features for m in model.classifier
            if isinstance(m, nn.Linear)] == [4096, 4096, 10]
    assert len(se_layers(model)) == 1 + 1 + 2 + 2
    x = torch.rand(2, 3, 56, 56)
    # Default out_indices with a classifier: the logits only.
    assert [o.shape for o in model(x)] == [(2, 10)]
    model.out_indices = (3, )
    feats, logits = model(x)
    assert feats.shape == (2, 512, 7, 7) and logits.shape == (2, 10)


def test_vgg_out_indices_shapes():
    model = SEVGG(depth=11, out_indices=(0, 1, 2, 3, 4)).eval()
    outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (2, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate(VGG11_CHANNELS)
    ]
    model = SEVGG(depth=11, out_indices=(1, 3), ceil_mode=True).eval()
    assert [tuple(o.shape) for o in model(torch.rand(1, 3, 40, 40))] == [
        (1, 128, 10, 10), (1, 512, 3, 3)]
    outs = SEVGG(depth=11, out_indices=2).eval()(torch.rand(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 4, 4)]


def test_vgg_frozen_stages_freeze_se_layers_too():
    model = SEVGG(depth=11, frozen_stages=2)
    assert model.train() is model
    for i in range(5):
        stage = vgg_stage(model, i)
        frozen = i < 2
        assert all(p.requires_grad is not frozen
                   for m in stage for p in m.parameters())
        assert all(m.training is not frozen
                   for layer in stage for m in layer.modules())
    assert not model.features[1].fc1.weight.requires_grad  # stage 0's SE


def test_vgg_builds_as_an_mmdet_backbone():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    backbone = MODELS.build(dict(type='se_plugin.SEVGG', depth=11,
                                 out_indices=(1, 2, 3, 4), frozen_stages=1,
                                 norm_eval=True))
    assert type(backbone) is SEVGG
    neck = MODELS.build(dict(type='FPN', in_channels=[128, 256, 512, 512],
                             out_channels=16, num_outs=5))
    feats = neck(backbone.eval()(torch.rand(1, 3, 64, 64)))
    assert [tuple(f.shape[1:]) for f in feats] == [
        (16, 16 // 2**i, 16 // 2**i) for i in range(5)]


# ---------------------------------------------------------- SEMobileNetV1
