import warnings

import pytest
import torch

from se_plugin import SELayer


def identity_se(channels: int, **kwargs) -> SELayer:
    """An SE layer whose two FCs are identities: gate(relu(squeeze(x)))."""
    se = SELayer(channels, squeeze_channels=channels, **kwargs)
    with torch.no_grad():
        eye = torch.eye(channels)[:, :, None, None]
        se.fc1.weight.copy_(eye)
        se.fc2.weight.copy_(eye)
        if se.fc1.bias is not None:
            se.fc1.bias.zero_()
            se.fc2.bias.zero_()
    return se


def test_avg_and_max_squeeze_on_a_spike():
    x = torch.zeros(1, 2, 8, 8)
    x[0, 0, 3, 5] = 10.0  # one spike in channel 0, channel 1 all zero
    avg = identity_se(2, squeeze='avg').excite(x)
    mx = identity_se(2, squeeze='max').excite(x)
    assert avg.shape == mx.shape == (1, 2, 1, 1)
    assert avg[0, 0, 0, 0].item() == pytest.approx(torch.sigmoid(
        torch.tensor(10.0 / 64)).item())
    assert mx[0, 0, 0, 0].item() == pytest.approx(torch.sigmoid(
        torch.tensor(10.0)).item())
    assert avg[0, 1, 0, 0].item() == mx[0, 1, 0, 0].item() == 0.5


def test_no_squeeze_gates_every_position():
    x = torch.zeros(1, 2, 4, 4)
    x[0, 0, 0, 0] = 3.0
    gate = identity_se(2, squeeze='none').excite(x)
    assert gate.shape == (1, 2, 4, 4)
    assert gate[0, 0, 0, 0].item() == pytest.approx(
        torch.sigmoid(torch.tensor(3.0)).item())
    assert gate[0, 0, 1, 1].item() == 0.5
    out = identity_se(2, squeeze='none')(x)
    assert out[0, 0, 0, 0].item() == pytest.approx(
        3.0 * torch.sigmoid(torch.tensor(3.0)).item())


@pytest.mark.parametrize('gate,low,high,escapes', [
    ('sigmoid', 0.0, 1.0, None),
    ('hsigmoid', 0.0, 1.0, None),
    ('tanh', -1.0, 1.0, 'negative'),
    ('relu', 0.0, float('inf'), 'above_one'),
])
def test_gate_ranges(gate, low, high, escapes):
    torch.manual_seed(0)
    se = SELayer(32, ratio=4, gate=gate)
    with torch.no_grad():
        for p in se.parameters():
            p.normal_(0, 3)
    s = se.excite(torch.randn(64, 32, 4, 4))
    assert s.min() >= low and s.max() <= high
    if escapes == 'negative':  # tanh can suppress below zero
        assert s.min() < 0
    if escapes == 'above_one':  # relu can amplify
        assert s.max() > 1
    if gate == 'hsigmoid':  # saturates exactly, unlike the sigmoid
        assert (s == 0).any() and (s == 1).any()


def test_ratio_channels_and_bias():
    assert SELayer(256).fc1.out_channels == 16
    assert SELayer(256, ratio=4).fc1.out_channels == 64
    assert SELayer(256, squeeze_channels=10).fc1.out_channels == 10
    assert SELayer(8, ratio=16).fc1.out_channels == 1
    # timm's and mmpretrain's rounding: 64 / 16 = 4 -> 8
    assert SELayer(64, divisor=8).squeeze_channels == 8
    assert SELayer(256, divisor=8).squeeze_channels == 16
    with_bias = sum(p.numel() for p in SELayer(256).parameters())
    no_bias = sum(p.numel() for p in SELayer(256, bias=False).parameters())
    assert no_bias == 2 * 256 * 16
    assert with_bias - no_bias == 16 + 256


def test_fused_identity_form_matches_scale_then_add():
    torch.manual_seed(0)
    se = SELayer(16, ratio=4)
    x, identity = torch.randn(2, 16, 5, 5), torch.randn(2, 16, 5, 5)
    expected = identity + se(x)
    torch.testing.assert_close(se(x, identity=identity), expected)
    torch.testing.assert_close(se(x), x * se.excite(x))
    # inplace writes into x only when autograd is off
    kept = x.clone()
    out = se(x, identity=identity, inplace=True)
    assert out.data_ptr() != x.data_ptr() and torch.equal(x, kept)
    with torch.no_grad():
        out = se(x, identity=identity, inplace=True)
    assert out.data_ptr() == x.data_ptr()
    torch.testing.assert_close(out, expected.detach())


@pytest.mark.parametrize('kwargs,field', [
    (dict(squeeze='mean'), 'squeeze'),
    (dict(gate='softmax'), 'gate'),
    (dict(ratio=0), 'ratio'),
    (dict(ratio='16'), 'ratio'),
    (dict(squeeze_channels=0), 'squeeze_channels'),
    (dict(divisor=0), 'divisor'),
])
def test_bad_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f'^{field} must be'):
        SELayer(16, **kwargs)


def test_bad_choice_lists_allowed_values():
    with pytest.raises(ValueError, match=r"'avg', 'max', 'none'.*'mean'"):
        SELayer(16, squeeze='mean')
    with pytest.raises(ValueError, match='in_channels'):
        SELayer(0)


def test_ratio_above_the_channels_warns_naming_the_clamp():
    with pytest.warns(UserWarning, match=r'^SELayer: in_channels 8 // ratio '
                      r'16 is 0 channels; clamped to squeeze_channels=1\. '
                      r'Pass a ratio <= 8 or squeeze_channels'):
        se = SELayer(8, ratio=16)
    assert se.squeeze_channels == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no clamp, no warning
        assert SELayer(16, ratio=16).squeeze_channels == 1
        assert SELayer(8, ratio=16, squeeze_channels=1).squeeze_channels == 1
