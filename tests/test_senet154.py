"""SENet-154 (appendix): layout and arguments."""
import pytest
import torch

from se_plugin import SENet154
from helpers import se_layers


def test_senet154_structure():
    model = SENet154(stem_channels=16, base_channels=8, groups=4,
                     out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 16, 16), (1, 64, 8, 8),
                                              (1, 128, 4, 4), (1, 256, 2, 2)]
    block = model.layer2[0]
    # in -> 2p -> 4p -> 4p, grouped 3x3, 3x3 stride-2 shortcut
    assert (block.conv1.out_channels, block.conv2.out_channels,
            block.conv3.out_channels) == (32, 64, 64)
    assert block.conv2.groups == 4 and block.conv2.stride == (2, 2)
    assert block.downsample[0].kernel_size == (3, 3)
    assert model.layer1[0].downsample[0].kernel_size == (1, 1)
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 5)] == [
        3, 8, 36, 3]
    assert model.maxpool.ceil_mode and model.maxpool.padding == 0
    assert len(se_layers(model)) == 50


@pytest.mark.parametrize('field', ['width_per_group', 'avg_down'])
def test_resnext_layout_options_are_refused(field):
    # The appendix fixes both: width_per_group was ignored, avg_down broke
    # the 3x3 shortcut rewrite.
    value = 8 if field == 'width_per_group' else True
    with pytest.raises(ValueError, match=f'^{field} is not an option'):
        SENet154(stem_channels=8, base_channels=4, **{field: value})
