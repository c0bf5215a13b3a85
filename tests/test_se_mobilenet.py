"""SEMobileNetV1 (Howard et al. 2017, Table 1) with SE after each block."""
import pytest
import timm
import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.registry import MODELS, init_default_scope

from se_plugin import SELayer
from se_plugin.analysis.classifier import classifier
from se_plugin.models.backbones import SEMobileNetV1
from helpers import constant_gate, randomize_bn, se_layers

VGG11_CHANNELS = (64, 128, 256, 512, 512)
MOBILENET_BLOCKS = (1, 2, 2, 6, 2)  # blocks per stage, 13 in all
QUARTER_CHANNELS = (16, 32, 64, 128, 256)  # widen_factor=0.25


pytestmark = pytest.mark.usefixtures('one_thread')


# The arguments every backbone takes: tests/test_models.py.
@pytest.mark.parametrize('kwargs,field', [
    (dict(widen_factor=0), 'widen_factor'),
    (dict(widen_factor='1.0'), 'widen_factor'),
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
