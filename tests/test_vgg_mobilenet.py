"""SEVGG (on mmpretrain's VGG) and SEMobileNetV1 (Howard et al. 2017)."""
import pytest
import timm
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.registry import MODELS, init_default_scope
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones import VGG

from se_plugin import SELayer
from se_plugin.models.backbones import SEMobileNetV1, SEVGG
from se_plugin.analysis.classifier import classifier

from helpers import constant_gate, randomize_bn, se_layers

VGG11_CHANNELS = (64, 128, 256, 512, 512)
MOBILENET_BLOCKS = (1, 2, 2, 6, 2)  # blocks per stage, 13 in all
QUARTER_CHANNELS = (16, 32, 64, 128, 256)  # widen_factor=0.25


pytestmark = pytest.mark.usefixtures('one_thread')


def vgg_stage(model, i):
    start, end = model.range_sub_modules[i]
    return list(model.features[start:end])


# ----------------------------------------------------------------- SEVGG


@pytest.mark.parametrize('kwargs,field', [
    (dict(depth=15), 'depth'),
    (dict(depth=11, num_stages=6), 'num_stages'),
    (dict(depth=11, se_stages=(True, ) * 4), 'se_stages'),
    (dict(depth=11, se_ratio=0), 'se_ratio'),
    (dict(depth=11, se_cfg=dict(ratio=4)), 'se_cfg key'),
    (dict(depth=11, dilations=(1, 1)), 'dilations'),
    (dict(depth=11, out_indices=(5, )), 'out_indices'),
    (dict(depth=11, out_indices=(-1, )), 'out_indices'),
    (dict(depth=11, frozen_stages=6), 'frozen_stages'),
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


def test_vgg_norm_eval_keeps_batchnorm_in_eval():
    model = SEVGG(depth=11, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(bns) == 8 and all(not m.training for m in bns)
    assert all(se.training for se in se_layers(model))
    stats = bns[0].running_mean.clone()
    model(torch.rand(2, 3, 32, 32) * 5)
    assert torch.equal(stats, bns[0].running_mean)


def test_vgg_forward_backward_reaches_se_weights():
    torch.manual_seed(0)
    model = SEVGG(depth=11, out_indices=(2, 4))
    model.init_weights()
    outs = model.train()(torch.rand(2, 3, 32, 32))
    sum(o.square().mean() for o in outs).backward()
    grads = [[p.grad.abs().sum() for p in se.parameters()]
             for se in se_layers(model)]
    assert len(grads) == 8 and all(sum(g) > 0 for g in grads)


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


@pytest.mark.parametrize('kwargs,field', [
    (dict(widen_factor=0), 'widen_factor'),
    (dict(widen_factor='1.0'), 'widen_factor'),
    (dict(out_indices=(5, )), 'out_indices'),
    (dict(frozen_stages=6), 'frozen_stages'),
    (dict(se_stages=(True, ) * 4), 'se_stages'),
    (dict(se_ratio=-1), 'se_ratio'),
    (dict(se_cfg=dict(gate='swish')), 'gate'),
])
def test_mobilenet_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEMobileNetV1(**kwargs)


def test_mobilenet_layout_is_table_1_of_howard_et_al():
    model = SEMobileNetV1(se_stages=(False, ) * 5)
    stem = model.conv1.conv
    assert (stem.in_channels, stem.out_channels, stem.stride) == (3, 32,
                                                                  (2, 2))
    blocks = [m for m in model.modules()
              if isinstance(m, DepthwiseSeparableConvModule)]
    assert [(b.depthwise_conv.conv.groups, b.pointwise_conv.conv.out_channels,
             b.depthwise_conv.conv.stride[0]) for b in blocks] == [
        (32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2),
        (256, 256, 1), (256, 512, 2), *[(512, 512, 1)] * 5, (512, 1024, 2),
        (1024, 1024, 1)]
    assert [len(getattr(model, n)) for n in model.layers] == list(
        MOBILENET_BLOCKS)
    # 4,231,976 with the 1000-way FC (the paper's 4.2M), 1,025,000 of it FC.
    assert sum(p.numel() for p in model.parameters()) == 3_206_976


def test_mobilenet_se_after_each_block():
    model = SEMobileNetV1(se_cfg=dict(bias=False))
    for name, channels, blocks in zip(model.layers, (64, 128, 256, 512, 1024),
                                      MOBILENET_BLOCKS):
        stage = list(getattr(model, name))
        assert len(stage) == 2 * blocks
        for block, se in zip(stage[0::2], stage[1::2]):
            assert isinstance(block, DepthwiseSeparableConvModule)
            assert block.pointwise_conv.with_activation
            assert isinstance(se, SELayer) and se.in_channels == channels
    assert not se_layers(model.conv1)
    # sum over the 13 blocks of 2 C^2 / 16: the paper's 4.2M -> 4.7M
    assert sum(p.numel() for se in se_layers(model)
               for p in se.parameters()) == 479_744


def test_mobilenet_se_scales_the_pointwise_relu_output():
    model = SEMobileNetV1(widen_factor=0.25).eval()
    block, se = model.layer2[0], model.layer2[1]
    c = constant_gate(se)
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        relu_out = block(x)
        assert relu_out.min() == 0
        torch.testing.assert_close(model.layer2[:2](x), c * relu_out)


def test_mobilenet_se_stages_and_ratio_place_the_layers():
    model = SEMobileNetV1(widen_factor=0.25, se_ratio=8,
                          se_stages=(False, True, False, True, False))
    assert [len(se_layers(getattr(model, n))) for n in model.layers] == [
        0, 2, 0, 6, 0]
    assert {(se.in_channels, se.squeeze_channels)
            for se in se_layers(model)} == {(32, 4), (128, 16)}


def test_mobilenet_plain_twin_equals_timm_mobilenetv1():
    torch.manual_seed(0)
    ours = SEMobileNetV1(se_stages=(False, ) * 5,
                         act_cfg=dict(type='ReLU6'))
    ref = timm.create_model('mobilenetv1_100')
    assert not se_layers(ours)
    randomize_bn(ref)
    # Same tensors in the same order: stem, then per block dw, BN, pw, BN.
    ref_state = [v for k, v in ref.state_dict().items()
                 if not k.startswith('classifier')]
    ours.load_state_dict(dict(zip(ours.state_dict(), ref_state)))
    x = torch.rand(2, 3, 64, 64)
    for mode in ('eval', 'train'):
        getattr(ours, mode)()
        getattr(ref, mode)()
        assert torch.equal(ours(x)[0], ref.forward_features(x))


def test_mobilenet_out_indices_shapes_and_widen_factor():
    model = SEMobileNetV1(widen_factor=0.25, out_indices=(0, 1, 2, 3, 4))
    assert model.conv1.conv.out_channels == 8
    outs = model.eval()(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (2, c, 16 // 2**i, 16 // 2**i) for i, c in enumerate(QUARTER_CHANNELS)
    ]
    model = SEMobileNetV1(widen_factor=0.25, out_indices=2).eval()
    assert [o.shape[1] for o in model(torch.rand(1, 3, 32, 32))] == [64]


@pytest.mark.parametrize('frozen_stages', [0, 2])
def test_mobilenet_frozen_stages(frozen_stages):
    model = SEMobileNetV1(widen_factor=0.25, frozen_stages=frozen_stages)
    assert model.train() is model
    modules = [model.conv1] + [getattr(model, n) for n in model.layers]
    for i, module in enumerate(modules):
        frozen = i <= frozen_stages
        assert all(p.requires_grad is not frozen for p in module.parameters())
        assert all(m.training is not frozen for m in module.modules())


def test_mobilenet_norm_eval_keeps_batchnorm_in_eval():
    model = SEMobileNetV1(widen_factor=0.25, norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(bns) == 1 + 2 * 13 and all(not m.training for m in bns)
    stats = model.conv1.bn.running_mean.clone()
    model(torch.rand(2, 3, 32, 32) * 5)
    assert torch.equal(stats, model.conv1.bn.running_mean)


def test_mobilenet_forward_backward_reaches_se_weights():
    torch.manual_seed(0)
    model = SEMobileNetV1(widen_factor=0.25, out_indices=(1, 4))
    model.init_weights()
    outs = model.train()(torch.rand(2, 3, 64, 64))
    sum(o.square().mean() for o in outs).backward()
    # Per layer: at 1/4 width a 1- or 2-unit bottleneck may start dead.
    grads = [[p.grad.abs().sum() for p in se.parameters()]
             for se in se_layers(model)]
    assert len(grads) == 13 and all(sum(g) > 0 for g in grads)


def test_mobilenet_builds_in_an_mmpretrain_classifier():
    init_default_scope('mmpretrain')
    model = MODELS.build(classifier(
        dict(type='se_plugin.SEMobileNetV1', widen_factor=0.25),
        num_classes=5, in_channels=256))
    assert type(model.backbone) is SEMobileNetV1
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_mobilenet_builds_as_an_mmdet_backbone():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    backbone = MODELS.build(dict(type='se_plugin.SEMobileNetV1',
                                 widen_factor=0.25, out_indices=(2, 3, 4)))
    assert type(backbone) is SEMobileNetV1
    outs = backbone.eval()(torch.rand(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 4, 4), (1, 128, 2, 2),
                                              (1, 256, 1, 1)]
