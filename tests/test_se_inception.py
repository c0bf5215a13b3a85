"""SEBNInception: SE on every Inception module's output."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

import se_plugin.models.backbones.se_inception as se_inception
from se_plugin.analysis.complexity import count_params
from se_plugin.models.backbones import SEBNInception
from se_plugin.models.backbones.se_inception import MODULES, InceptionModule
from helpers import (check_frozen, check_with_cp, constant_gate, randomize_bn,
                     se_layers)

WIDTHS = [256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024]  # 3a ... 5b


def test_build_through_the_mmdet_registry():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    model = MODELS.build(dict(type='se_plugin.SEBNInception', se_ratio=8,
                              out_indices=(0, 1, 2)))
    assert type(model) is SEBNInception
    assert all(se.squeeze_channels == se.in_channels // 8
               for se in se_layers(model))


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


def test_bninception_with_cp_checkpoints_and_matches(monkeypatch):
    check_with_cp(monkeypatch, se_inception,
                  lambda **k: SEBNInception(**k).eval(),
                  torch.rand(1, 3, 32, 32), 10)


def test_bninception_exact_counts(bninception):
    plain = count_params(SEBNInception(se_stages=(False, ) * 3))
    assert plain == 10_260_224  # 11,285,224 with the 1024 -> 1000 head
    assert count_params(bninception) - plain == sum(
        2 * c * (c // 16) + c + c // 16 for c in WIDTHS)
