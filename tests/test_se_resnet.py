"""SEResNet and SEResNeXt on mmpretrain's ResNet and ResNeXt."""
import pytest
import torch
import torch.nn as nn
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones import ResNet, ResNeXt
from mmpretrain.models.backbones.resnet import Bottleneck

import se_plugin.models.layers.se_residual as se_residual
from se_plugin import SELayer, SEResNet, SEResNeXt
from helpers import randomize_bn, se_layers

# Tiny widths keep every test fast: stem 8, first stage 8 x 4 = 32 channels.
TINY = dict(stem_channels=8, base_channels=8)


def tiny(depth=50, cls=SEResNet, **kwargs):
    return cls(depth=depth, **TINY, **kwargs)


# The host asserts on num_stages, strides, dilations and out_indices, and
# fails in train() on frozen_stages > num_stages; these name the field.
# The arguments every backbone takes: tests/test_models.py.
@pytest.mark.parametrize('kwargs,field', [
    (dict(depth=20), 'depth'),
    (dict(depth=50, se_stages=(1, 1, 1, 1)), 'se_stages'),
    (dict(depth=50, se_position='middle'), 'se_position'),
    (dict(depth=18, se_position='3x3'), "se_position='3x3'"),
    (dict(depth=50, se_ratio=None), 'se_ratio'),
    (dict(depth=50, num_stages=5), 'num_stages'),
    (dict(depth=50, num_stages=3, strides=(1, 2, 2, 2)), 'strides'),
    (dict(depth=50, dilations=(1, 1)), 'dilations'),
    (dict(depth=50, out_indices=(4, )), 'out_indices'),
    (dict(depth=50, num_stages=2, out_indices=(2, )), 'out_indices'),
    (dict(depth=50, frozen_stages=5), 'frozen_stages'),
    (dict(depth=50, style='tf'), 'style'),
    (dict(depth=50, branch_relu=True), 'branch_relu'),
])
def test_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEResNet(**kwargs)


def test_bad_resnext_depth_lists_allowed():
    with pytest.raises(ValueError, match=r'depth must be one of \(50, 101'):
        SEResNeXt(depth=18)


@pytest.mark.parametrize('depth', [18, 50])
def test_out_indices_shapes_and_strides(depth):
    model = tiny(depth, out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(2, 3, 64, 64))
    expansion = 1 if depth == 18 else 4
    assert [tuple(o.shape) for o in outs] == [
        (2, 8 * expansion * 2**i, 64 // 4 // 2**i, 64 // 4 // 2**i)
        for i in range(4)
    ]
    assert len(tiny(depth, out_indices=(1, 3)).eval()(
        torch.rand(1, 3, 64, 64))) == 2


def test_se_stages_and_ratio_place_the_layers():
    model = tiny(50, se_stages=(False, True, False, True), se_ratio=8)
    per_stage = [
        len([m for m in getattr(model, f'layer{i}').modules()
             if isinstance(m, SELayer)]) for i in range(1, 5)
    ]
    assert per_stage == [0, 4, 0, 3]
    assert {se.squeeze_channels * 8 for se in se_layers(model)} == {64, 256}


def test_se_resnext_honours_se_ratio():
    # mmpretrain's SEResNeXt ignores se_ratio; ours must not.
    model = SEResNeXt(depth=50, se_ratio=8, groups=4, width_per_group=2,
                      **TINY)
    first = model.layer1[0].se
    assert first.in_channels == 32 and first.squeeze_channels == 4
    assert model.layer1[0].conv2.groups == 4


def test_se_cfg_reaches_every_layer():
    model = tiny(50, se_cfg=dict(squeeze='max', gate='tanh', bias=False))
    assert all(se.squeeze == 'max' and se.gate == 'tanh'
               and se.fc1.bias is None for se in se_layers(model))


def test_frozen_stages():
    model = tiny(50, frozen_stages=1)
    model.train()
    for module in (model.conv1, model.norm1, model.layer1):
        assert all(not p.requires_grad for p in module.parameters())
    assert not model.layer1.training
    assert all(p.requires_grad for p in model.layer2.parameters())
    # SE parameters of a frozen stage are frozen too.
    assert not model.layer1[0].se.fc1.weight.requires_grad


def test_with_cp_checkpoints_and_matches(monkeypatch):
    torch.manual_seed(0)
    ref = tiny(50, out_indices=(3, ))
    cp_model = tiny(50, out_indices=(3, ), with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    calls = []
    real = se_residual.cp.checkpoint  # the SE block forward's module
    monkeypatch.setattr(se_residual.cp, 'checkpoint',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.rand(2, 3, 32, 32)
    out_ref, out_cp = ref(x)[0], cp_model(x.clone().requires_grad_())[0]
    out_ref.sum().backward()
    out_cp.sum().backward()
    assert len(calls) == 16  # every block of ResNet-50
    torch.testing.assert_close(out_cp, out_ref)
    torch.testing.assert_close(cp_model.layer2[0].se.fc1.weight.grad,
                               ref.layer2[0].se.fc1.weight.grad)


@pytest.mark.parametrize('depth', [18, 50])
def test_zero_init_residual_makes_blocks_identity(depth):
    x = torch.rand(1, 32 if depth == 50 else 8, 8, 8)
    for zero_init, expect_identity in ((True, True), (False, False)):
        model = tiny(depth, zero_init_residual=zero_init)
        model.init_weights()
        block = model.layer1[1].eval()  # no downsample: identity is x
        assert torch.equal(block(x), x) is expect_identity


def plain_residual(block: Bottleneck, x: torch.Tensor, scale_3x3=None):
    """F(x) of a bottleneck, written out; optionally scale conv2's output."""
    out = block.relu(block.norm1(block.conv1(x)))
    out = block.relu(block.norm2(block.conv2(out)))
    if scale_3x3 is not None:
        out = out * scale_3x3
    return block.norm3(block.conv3(out))


@pytest.mark.parametrize('position', ['standard', 'pre', 'post', 'identity',
                                      '3x3'])
def test_se_position_by_behaviour(position):
    """With a constant per-channel gate c, each position is a known formula."""
    torch.manual_seed(0)
    model = tiny(50, se_position=position).eval()
    block = model.layer1[1]
    se = block.se
    with torch.no_grad():  # gate = sigmoid(bias): constant, channel-distinct
        se.fc2.weight.zero_()
        se.fc2.bias.copy_(torch.linspace(-3, 3, se.in_channels))
    c = torch.sigmoid(se.fc2.bias)[None, :, None, None]
    x = torch.rand(2, 32, 8, 8)
    relu = nn.functional.relu
    expected = {
        'standard': lambda: relu(c * plain_residual(block, x) + x),
        'pre': lambda: relu(plain_residual(block, c * x) + x),
        'post': lambda: c * relu(plain_residual(block, x) + x),
        'identity': lambda: relu(plain_residual(block, x) + c * x),
        '3x3': lambda: relu(plain_residual(block, x, scale_3x3=c) + x),
    }
    with torch.no_grad():
        out = block(x)
        torch.testing.assert_close(out, expected[position]())
        # Same-width positions, and the block without SE, must differ.
        expected['no SE'] = lambda: relu(plain_residual(block, x) + x)
        others = [
            f() for p, f in expected.items()
            if p != position and (p == '3x3') == (position == '3x3')
        ]
        assert all(not torch.allclose(out, o, atol=1e-4) for o in others)


@pytest.mark.parametrize('position,channels', [
    ('standard', 32), ('post', 32), ('identity', 32), ('pre', 8), ('3x3', 8)
])
def test_se_width_follows_position(position, channels):
    # First block of stage 1: input 8 (stem), middle 8, output 32.
    assert tiny(50, se_position=position).layer1[0].se.in_channels == channels


@pytest.mark.parametrize('cls,ref_cls,extra', [
    (SEResNet, ResNet, dict(depth=18)),
    (SEResNet, ResNet, dict(depth=50, style='caffe')),
    (SEResNeXt, ResNeXt, dict(depth=50, groups=4, width_per_group=2)),
])
def test_plain_twin_equals_mmpretrain(cls, ref_cls, extra):
    kwargs = dict(**TINY, out_indices=(0, 1, 2, 3), **extra)
    ours = cls(se_stages=(False, ) * 4, **kwargs)
    ref = ref_cls(**kwargs)
    assert not se_layers(ours)
    assert list(ours.state_dict()) == list(ref.state_dict())
    torch.manual_seed(0)
    ref.init_weights()
    for m in ref.modules():  # non-trivial BN statistics and affine terms
        if isinstance(m, _BatchNorm):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            nn.init.uniform_(m.running_mean, -0.1, 0.1)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 64, 64)
    for mode in ('eval', 'train'):
        getattr(ours, mode)()
        getattr(ref, mode)()
        for a, b in zip(ours(x), ref(x)):
            assert torch.equal(a, b)


@pytest.mark.parametrize('position', ['standard', 'pre', 'post', 'identity',
                                      '3x3'])
def test_fused_path_matches_unfused_reference(position):
    torch.manual_seed(0)
    fused = tiny(50, se_position=position, zero_init_residual=False)
    reference = tiny(50, se_position=position, zero_init_residual=False,
                     se_cfg=dict(fused=False))
    fused.init_weights()
    reference.load_state_dict(fused.state_dict())
    assert all(se.fused for se in se_layers(fused))
    assert not any(se.fused for se in se_layers(reference))
    # Eval mode: batch statistics of a tiny batch would amplify rounding.
    fused.eval()
    reference.eval()
    x = torch.randn(2, 3, 64, 64)
    out_f, out_r = fused(x)[0], reference(x)[0]
    torch.testing.assert_close(out_f, out_r, rtol=1e-4, atol=1e-5)
    out_f.square().sum().backward()
    out_r.square().sum().backward()
    for (name, p_f), p_r in zip(fused.named_parameters(),
                                reference.parameters()):
        # Relative to the gradient's size: rounding differs, formulas don't.
        error = (p_f.grad - p_r.grad).norm() / p_r.grad.norm().clamp(1e-12)
        assert error < 1e-4, name


def test_drop_path_applies_after_the_se_scale():
    """Stochastic depth drops the SE-scaled branch as a whole:
    ``relu(x + drop(F(x) * s(F(x))))``, not ``F`` scaled by the excitation
    of a dropped, rescaled branch."""
    torch.manual_seed(0)
    model = tiny(50, zero_init_residual=False, drop_path_rate=0.5)
    model.init_weights()
    randomize_bn(model)
    block = model.layer1[1]  # no downsample: the identity is x
    x = torch.randn(2, block.in_channels, 8, 8)
    block.eval()  # stochastic depth is the identity in eval mode
    branch = block.residual(x)
    torch.testing.assert_close(
        block(x), block.relu(x + branch * block.se.excite(branch)))

    class FixedDrop(nn.Module):  # sample 0 dropped, sample 1 kept (x2)
        def forward(self, t):
            return t * torch.tensor([0., 2.]).view(2, 1, 1, 1)

    block.drop_path = FixedDrop()
    expected = block.relu(x + FixedDrop()(branch * block.se.excite(branch)))
    torch.testing.assert_close(block(x), expected)


def test_no_graph_breaks_under_torch_compile():
    model = tiny(50, se_position='standard').eval()
    explanation = torch._dynamo.explain(model)(torch.randn(1, 3, 32, 32))
    assert explanation.graph_break_count == 0
    assert explanation.graph_count == 1
