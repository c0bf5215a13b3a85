import importlib

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones import ShuffleNetV1
from mmpretrain.models.utils import channel_shuffle

import se_plugin.models.backbones.se_inception as se_inception
import se_plugin.models.backbones.se_shufflenet as se_shufflenet
from se_plugin.models.backbones import SEBNInception, SEShuffleNetV1
from se_plugin.models.backbones.se_inception import MODULES, InceptionModule
from se_plugin.analysis.complexity import count_params

from helpers import constant_gate, randomize_bn, se_layers

WIDTHS = [256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024]  # 3a ... 5b


def check_frozen(model, frozen, trainable):
    assert model.train() is model
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in trainable:
        assert all(p.requires_grad for p in module.parameters())
        assert module.training


def check_norm_eval(model, x):
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    stats = [m.running_mean.clone() for m in bns]
    model(x * 5)
    assert all(torch.equal(s, m.running_mean) for s, m in zip(stats, bns))


def check_with_cp(monkeypatch, module, build, x, calls_expected):
    torch.manual_seed(0)
    ref, cp_model = build(with_cp=False), build(with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    calls = []
    real = module.cp.checkpoint
    monkeypatch.setattr(module.cp, 'checkpoint',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    out_ref, out_cp = ref(x)[-1], cp_model(x.clone().requires_grad_())[-1]
    out_ref.sum().backward()
    out_cp.sum().backward()
    assert len(calls) == calls_expected
    torch.testing.assert_close(out_cp, out_ref)
    for (name, p), p_ref in zip(cp_model.named_parameters(),
                                ref.parameters()):
        assert p.grad is not None, name  # forward + backward reach it all
        torch.testing.assert_close(p.grad, p_ref.grad, msg=name)


@pytest.mark.parametrize('scope,name,kwargs', [
    ('mmpretrain', 'SEShuffleNetV1', dict(groups=3)),
    ('mmdet', 'SEShuffleNetV1', dict(groups=3)),
    ('mmdet', 'SEBNInception', dict()),
])
def test_build_through_the_registry(scope, name, kwargs):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    init_default_scope(scope)
    model = registry.build(dict(type=f'se_plugin.{name}', se_ratio=8,
                                out_indices=(0, 1, 2), **kwargs))
    assert type(model).__name__ == name
    assert all(se.squeeze_channels == se.in_channels // 8
               for se in se_layers(model))


# ShuffleNet ----------------------------------------------------------------

@pytest.mark.parametrize('kwargs,field', [
    (dict(groups=5), 'groups'),
    (dict(se_stages=(True, ) * 4), 'se_stages'),
    (dict(se_ratio=0), 'se_ratio'),
    (dict(se_cfg=dict(ratio=4)), 'se_cfg key'),
    (dict(out_indices=(3, )), 'out_indices entry'),
    (dict(frozen_stages=3), 'frozen_stages'),
])
def test_shufflenet_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEShuffleNetV1(**kwargs)


def test_shufflenet_se_on_the_branch_width_of_every_unit():
    model = SEShuffleNetV1(groups=3, se_stages=(True, False, True),
                           se_ratio=8)
    widths = [[u.se.in_channels for u in layer if u.se is not None]
              for layer in model.layers]
    # A concat unit's branch is out - in: 240 - 24 and 960 - 480.
    assert widths == [[216, 240, 240, 240], [], [480, 960, 960, 960]]
    assert model.layers[0][0].se.squeeze_channels == 216 // 8


@pytest.mark.parametrize('groups', [1, 2, 3, 4, 8])
def test_shufflenet_plain_twin_equals_mmpretrain(groups):
    kwargs = dict(groups=groups, out_indices=(0, 1, 2))
    ours = SEShuffleNetV1(se_stages=(False, ) * 3, **kwargs)
    ref = ShuffleNetV1(**kwargs)
    assert not se_layers(ours)
    assert list(ours.state_dict()) == list(ref.state_dict())
    torch.manual_seed(0)
    ref.init_weights()
    randomize_bn(ref)
    ours.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 32, 32)
    for mode in ('eval', 'train'):
        getattr(ours, mode)()
        getattr(ref, mode)()
        for a, b in zip(ours(x), ref(x)):
            assert torch.equal(a, b)


def test_shufflenet_se_scales_the_branch_before_add_and_concat():
    torch.manual_seed(0)
    model = SEShuffleNetV1(groups=3, widen_factor=0.5).eval()
    relu = nn.functional.relu

    def branch(unit, x):
        out = unit.depthwise_conv3x3_bn(unit.g_conv_1x1_compress(x))
        return unit.g_conv_1x1_expand(channel_shuffle(out, 3))

    concat, add = model.layers[1][0], model.layers[1][1]
    with torch.no_grad():
        x = torch.randn(2, concat.in_channels, 8, 8)
        c = constant_gate(concat.se)
        expected = torch.cat((concat.avgpool(x), relu(c * branch(concat, x))),
                             1)
        torch.testing.assert_close(concat(x), expected)
        x = torch.randn(2, add.in_channels, 4, 4)
        c = constant_gate(add.se)
        torch.testing.assert_close(add(x), relu(x + c * branch(add, x)))
        assert not torch.allclose(add(x), relu(x + branch(add, x)))


def test_shufflenet_out_indices_shapes():
    model = SEShuffleNetV1(groups=3, out_indices=(0, 1, 2)).eval()
    outs = model(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 240, 8, 8),
                                              (2, 480, 4, 4),
                                              (2, 960, 2, 2)]
    assert len(SEShuffleNetV1(out_indices=(1, )).eval()(
        torch.rand(1, 3, 32, 32))) == 1


def test_shufflenet_frozen_stages_and_norm_eval():
    model = SEShuffleNetV1(groups=2, widen_factor=0.5, frozen_stages=1)
    check_frozen(model, [model.conv1, model.layers[0]], list(model.layers[1:]))
    assert not model.layers[0][1].se.fc1.weight.requires_grad
    model = SEShuffleNetV1(groups=2, widen_factor=0.5, norm_eval=True)
    check_norm_eval(model, torch.rand(2, 3, 32, 32))


def test_shufflenet_with_cp_checkpoints_and_matches(monkeypatch):
    check_with_cp(
        monkeypatch, se_shufflenet,
        lambda **k: SEShuffleNetV1(groups=2, widen_factor=0.5, **k),
        torch.rand(2, 3, 32, 32), 16)


def test_shufflenet_exact_counts():
    ours = SEShuffleNetV1(groups=3)
    plain = count_params(SEShuffleNetV1(groups=3, se_stages=(False, ) * 3))
    assert plain == count_params(ShuffleNetV1(groups=3)) == 904_728
    # Each SE: 2 C (C // 16) weights and C + C // 16 biases; the first
    # unit of a stage scales its out - in branch channels.
    widths = [216] + [240] * 3 + [240] + [480] * 7 + [480] + [960] * 3
    assert count_params(ours) - plain == sum(
        2 * c * (c // 16) + c + c // 16 for c in widths)


# BN-Inception --------------------------------------------------------------

@pytest.mark.parametrize('kwargs,field', [
    (dict(se_stages=(True, ) * 10), 'se_stages'),
    (dict(se_ratio=-1), 'se_ratio'),
    (dict(se_cfg=dict(gate='swish')), 'gate'),
    (dict(out_indices=(3, )), 'out_indices entry'),
    (dict(frozen_stages=4), 'frozen_stages'),
])
def test_bninception_bad_arguments_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        SEBNInception(**kwargs)


@pytest.fixture(scope='module')
def bninception():
    """The default SE-BN-Inception, shared by the tests that only read it."""
    return SEBNInception(out_indices=(0, 1, 2)).eval()


def test_bninception_layout(bninception):
    model = bninception
    modules = [m for stage in model.stages for m in stage]
    assert [m.out_channels for m in modules] == WIDTHS
    assert [len(s) for s in model.stages] == [2, 5, 3]
    # 3c and 4e: no 1x1 branch, stride-2 convs, unpadded ceil-mode max pool.
    for m in (modules[2], modules[7]):
        assert m.branch_1x1 is None
        assert m.branch_3x3[1].conv.stride == (2, 2)
        assert m.branch_double_3x3[2].conv.stride == (2, 2)
        pool, = m.branch_pool
        assert isinstance(pool, nn.MaxPool2d) and pool.ceil_mode
    assert isinstance(modules[9].branch_pool[0], nn.MaxPool2d)  # 5b
    assert isinstance(modules[8].branch_pool[0], nn.AvgPool2d)  # 5a
    assert model.stem[0].conv.kernel_size == (7, 7)
    assert model.stem[1].ceil_mode and model.stem[4].ceil_mode
    # Every conv is followed by BN and ReLU.
    convs = [m for m in model.modules() if hasattr(m, 'conv')]
    assert len(convs) == 3 + 8 * 7 + 2 * 5
    assert all(c.with_norm and c.with_activation for c in convs)


def test_bninception_out_indices_shapes(bninception):
    outs = bninception(torch.rand(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 320, 8, 8), (2, 608, 4, 4),
                                              (2, 1024, 2, 2)]


def test_bninception_se_on_every_module_output(bninception):
    assert [se.in_channels for se in se_layers(bninception)] == WIDTHS
    model = SEBNInception(se_stages=(False, True, False), se_ratio=8)
    assert [se.in_channels for se in se_layers(model)] == WIDTHS[2:7]
    assert model.stages[1][0].se.squeeze_channels == 576 // 8
    assert len(SEBNInception(out_indices=(1, )).eval()(
        torch.rand(1, 3, 32, 32))) == 1


def test_bninception_se_scales_the_concatenation():
    torch.manual_seed(0)
    module = InceptionModule(576, MODULES['4c']).eval()
    x = torch.randn(2, 576, 6, 6)
    with torch.no_grad():
        c = constant_gate(module.se)
        scaled = module(x)
        module.se = None
        torch.testing.assert_close(scaled, c * module(x))


def test_bninception_plain_twin_is_the_se_model_without_se():
    """A gate fixed at exactly 1 (ReLU gate, zero weights, bias 1) makes
    the SE model's outputs the plain twin's, bit for bit."""
    plain = SEBNInception(se_stages=(False, ) * 3, out_indices=(0, 1, 2))
    ours = SEBNInception(se_cfg=dict(gate='relu'), out_indices=(0, 1, 2))
    assert not se_layers(plain)
    torch.manual_seed(0)
    plain.init_weights()
    randomize_bn(plain)
    missing, unexpected = ours.load_state_dict(plain.state_dict(),
                                               strict=False)
    assert not unexpected and all('.se.' in k for k in missing)
    for se in se_layers(ours):
        constant_gate(se, 1., 1.)
    x = torch.rand(2, 3, 32, 32)
    for a, b in zip(ours.eval()(x), plain.eval()(x)):
        assert torch.equal(a, b)


@pytest.mark.parametrize('frozen', [0, 3])
def test_bninception_frozen_stages(frozen):
    model = SEBNInception(frozen_stages=frozen)
    parts = [model.stem, *model.stages]
    check_frozen(model, parts[:frozen + 1], parts[frozen + 1:])


def test_bninception_norm_eval():
    check_norm_eval(SEBNInception(norm_eval=True), torch.rand(2, 3, 32, 32))


def test_bninception_with_cp_checkpoints_and_matches(monkeypatch):
    check_with_cp(monkeypatch, se_inception,
                  lambda **k: SEBNInception(**k).eval(),
                  torch.rand(1, 3, 32, 32), 10)


def test_bninception_exact_counts(bninception):
    plain = count_params(SEBNInception(se_stages=(False, ) * 3))
    assert plain == 10_260_224  # 11,285,224 with the 1024 -> 1000 head
    assert count_params(bninception) - plain == sum(
        2 * c * (c // 16) + c + c // 16 for c in WIDTHS)
