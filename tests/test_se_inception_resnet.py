"""SEInceptionResNetV2: arguments, SE placement, timm parity, mmdet knobs.

Small models have one block per stage (``num_blocks=(1, 1, 1)``) and see
75x75 inputs, the smallest the network takes.
"""
import pytest
import timm
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

from se_plugin.analysis.classifier import classifier
from se_plugin.models.backbones.se_inception_resnet import (
    MIN_INPUT_SIZE, InceptionResNetBlock, SEInceptionResNetV2)
from helpers import randomize_bn, se_layers

ONE = (1, 1, 1)
PLAIN = (False, False, False)


def small(**kwargs):
    return SEInceptionResNetV2(num_blocks=ONE, **kwargs)


def timm_small():
    """timm's network cut to one block per stage (block8 is the third),
    built on the meta device (fast) for weights to be loaded into."""
    model = timm.create_model('inception_resnet_v2', device='meta')
    model.repeat = model.repeat[:1]
    model.repeat_1 = model.repeat_1[:1]
    model.repeat_2 = nn.Sequential()
    return model.to_empty(device='cpu').eval()


@pytest.mark.parametrize('kwargs,field', [
    (dict(num_blocks=(1, 1)), 'num_blocks'),
    (dict(num_blocks=(1, 0, 1)), 'num_blocks'),
    (dict(num_blocks=(1, 1.5, 1)), 'num_blocks'),
    # Five feature taps, three stages (the rest: tests/test_models.py).
    (dict(out_indices=(5, )), r'out_indices must be ints in range\(5\)'),
    (dict(frozen_stages=4),
     r'frozen_stages must be an int from -1 \(none\) to 3'),
])
def test_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEInceptionResNetV2(**kwargs)


def test_full_size_layout_is_timms():
    """Same parameter and buffer names, order and shapes as timm's model
    (less its classifier), so timm's weights load as they are."""
    with torch.device('meta'):
        ours = SEInceptionResNetV2(se_stages=PLAIN).state_dict()
        theirs = timm.create_model('inception_resnet_v2').state_dict()
    assert [(k, v.shape) for k, v in ours.items()] == [
        (k, v.shape) for k, v in theirs.items()
        if not k.startswith('classif.')
    ]


def test_plain_twin_equals_timm_features_and_logits():
    ours = small(se_stages=PLAIN, out_indices=(0, 1, 2, 3, 4)).eval()
    assert not se_layers(ours)
    randomize_bn(ours)
    reference = timm_small()
    head = nn.Linear(1536, 1000)
    reference.load_state_dict({**ours.state_dict(),
                               'classif.weight': head.weight,
                               'classif.bias': head.bias})
    x = torch.randn(2, 3, 75, 75)
    with torch.no_grad():
        _, expected = reference.forward_intermediates(x)
        for out, ref in zip(ours(x), expected, strict=True):
            assert torch.equal(out, ref)

        # The classifier: backbone keys prefixed, timm's classif -> head.fc.
        from mmpretrain.registry import MODELS
        init_default_scope('mmpretrain')
        model = MODELS.build(classifier(
            dict(type='se_plugin.SEInceptionResNetV2', num_blocks=ONE,
                 se_stages=PLAIN), in_channels=1536)).eval()
        model.load_state_dict({
            k.replace('classif.', 'head.fc.') if k.startswith('classif.')
            else 'backbone.' + k: v
            for k, v in reference.state_dict().items()
        })
        torch.testing.assert_close(model(x, mode='tensor'), reference(x))


def test_se_stages_place_the_layers():
    model = SEInceptionResNetV2(num_blocks=(2, 3, 2), se_ratio=8,
                                se_stages=(True, False, True))
    per_stage = [
        len(se_layers(model.repeat)), len(se_layers(model.repeat_1)),
        len(se_layers(model.repeat_2)) + len(se_layers(model.block8))
    ]
    assert per_stage == [2, 0, 2]
    assert {(se.in_channels, se.squeeze_channels)
            for se in se_layers(model)} == {(320, 40), (2080, 260)}
    assert len(se_layers(small(se_ratio=16))) == 3
    # The SE model is the plain one plus its SE layers, nothing else.
    se_keys = [k for k in small().state_dict() if '.se.' not in k]
    assert se_keys == list(small(se_stages=PLAIN).state_dict())


def test_se_cfg_reaches_every_layer():
    model = small(se_cfg=dict(squeeze='max', gate='tanh'))
    assert {(se.squeeze, se.gate) for se in se_layers(model)} == {('max',
                                                                   'tanh')}


def test_se_scales_the_scaled_residual_before_the_sum():
    block = InceptionResNetBlock(
        [nn.Conv2d(8, 4, 1), nn.Conv2d(8, 4, 1)], 8, 8, scale=0.5,
        se_ratio=4).eval()
    x = torch.randn(2, 8, 5, 5)
    seen = []
    # A copy: the fused SE writes its result over its input.
    block.se.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].clone()))
    with torch.no_grad():
        out = block(x)
        residual = block.conv2d(
            torch.cat([block.branch0(x), block.branch1(x)], 1)) * 0.5
        expected = torch.relu(x + residual * block.se.excite(residual))
    torch.testing.assert_close(seen[0], residual)
    torch.testing.assert_close(out, expected)


def test_num_blocks_and_the_last_block():
    model = SEInceptionResNetV2(num_blocks=(2, 1, 3))
    assert (len(model.repeat), len(model.repeat_1),
            len(model.repeat_2)) == (2, 1, 2)
    # TF-slim's last block: residual scale 1.0, no ReLU after the sum.
    assert model.block8.scale == 1.0 and model.block8.relu is None
    assert model.repeat_2[0].scale == 0.2 and model.repeat_2[0].relu


def test_out_indices_shapes_and_minimum_input():
    model = small(out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 75, 75))
        assert [tuple(o.shape) for o in outs] == [
            (1, 64, 35, 35), (1, 192, 15, 15), (1, 320, 7, 7),
            (1, 1088, 3, 3), (1, 1536, 1, 1)]
        assert len(small(out_indices=(2, 4)).eval()(
            torch.rand(1, 3, 75, 75))) == 2
        # 74 leaves 0x0 after mixed_7a: said before torch's conv error.
        with pytest.raises(ValueError, match='at least 75x75 pixels'):
            model(torch.rand(1, 3, 74, 74))


def test_frozen_stages():
    model = small(frozen_stages=2)
    assert model.train() is model
    for name in ('conv2d_1a', 'mixed_5b', 'repeat', 'mixed_6a', 'repeat_1'):
        module = getattr(model, name)
        assert not any(p.requires_grad for p in module.parameters())
        assert not any(m.training for m in module.modules()
                       if isinstance(m, _BatchNorm))
    for name in ('mixed_7a', 'block8', 'conv2d_7b'):
        module = getattr(model, name)
        assert all(p.requires_grad for p in module.parameters())
        assert all(m.training for m in module.modules()
                   if isinstance(m, _BatchNorm))


def test_init_weights_is_kaiming():
    model = small()
    model.init_weights()
    # Kaiming init zeroes conv biases (PyTorch's default leaves them random).
    assert torch.count_nonzero(model.block8.conv2d.bias) == 0
    assert torch.all(model.conv2d_1a.bn.weight == 1)


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_builds_through_the_registry(scope):
    from mmengine.registry import MODELS
    init_default_scope(scope)
    model = MODELS.build(dict(type='se_plugin.SEInceptionResNetV2',
                              num_blocks=ONE, out_indices=(2, 3, 4)))
    assert isinstance(model, SEInceptionResNetV2)
    assert model.out_indices == (2, 3, 4)


def test_inception_resnet_minimum_input_is_named():
    model = SEInceptionResNetV2(num_blocks=(1, 1, 1), se_stages=(False, ) * 3,
                                out_indices=(4, )).eval()
    assert MIN_INPUT_SIZE == 75
    with torch.no_grad():
        out, = model(torch.rand(1, 3, 75, 80))
        assert out.shape[-2:] == (1, 1)  # the minimum works
        with pytest.raises(ValueError, match=r'^SEInceptionResNetV2 needs '
                           r'inputs of at least 75x75 pixels, got 74x80$'):
            model(torch.rand(1, 3, 74, 80))
        with pytest.raises(ValueError, match='got 80x32$'):
            model(torch.rand(1, 3, 80, 32))
