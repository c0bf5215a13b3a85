"""SEShuffleNetV1 on mmpretrain's ShuffleNetV1: SE on each unit's branch."""
import importlib

import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmpretrain.models.backbones import ShuffleNetV1
from mmpretrain.models.utils import channel_shuffle

import se_plugin.models.backbones.se_shufflenet as se_shufflenet
from se_plugin.analysis.complexity import count_params
from se_plugin.models.backbones import SEShuffleNetV1
from helpers import (check_frozen, check_with_cp, constant_gate, randomize_bn,
                     se_layers)


# The arguments every backbone takes: tests/test_models.py.
@pytest.mark.parametrize('kwargs,field', [
    (dict(groups=5), 'groups'),
    (dict(frozen_stages=3), 'frozen_stages'),  # the host's limit: 2
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


def test_shufflenet_frozen_stages():
    model = SEShuffleNetV1(groups=2, widen_factor=0.5, frozen_stages=1)
    check_frozen(model, [model.conv1, model.layers[0]], list(model.layers[1:]))
    assert not model.layers[0][1].se.fc1.weight.requires_grad


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


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_build_through_the_registry(scope):
    registry = importlib.import_module(f'{scope}.registry').MODELS
    init_default_scope(scope)
    model = registry.build(dict(type='se_plugin.SEShuffleNetV1', groups=3,
                                se_ratio=8, out_indices=(0, 1, 2)))
    assert type(model) is SEShuffleNetV1
    assert all(se.squeeze_channels == se.in_channels // 8
               for se in se_layers(model))
