"""A too-small input and a too-large SE ratio say what they are."""
import warnings

import pytest
import torch

from se_plugin import SELayer
from se_plugin.models.backbones.se_inception_resnet import (
    MIN_INPUT_SIZE, SEInceptionResNetV2)


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
