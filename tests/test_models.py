"""What every se_plugin backbone must do, for every backbone in the
registry (timm's tests/test_models.py pattern): build from a config, forward
and backward, ``out_indices``, ``frozen_stages``, ``norm_eval``, ``train()``
returning the model, ``se_stages`` off meaning no SE layer, and bad SE
arguments naming the field. What is special to one backbone is tested in
its own file (tests/test_<source file>.py)."""
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from se_plugin import DropoutLinearClsHead, SELayer
from se_plugin.registry import MODELS
from helpers import se_layers

# name: (tiny build arguments, input size, stages, outputs, max frozen).
# ``stages`` is the length of se_stages; ``outputs`` the range of
# out_indices; ``max frozen`` the largest frozen_stages the backbone takes.
TINY = {
    # zero_init_residual=False: a zeroed last BN gives SE nothing to learn.
    'SEResNet': (dict(depth=18, stem_channels=8, base_channels=8,
                      se_ratio=4, zero_init_residual=False), 32, 4, 4, 4),
    'SEResNeXt': (dict(depth=26, stem_channels=8, base_channels=8, groups=2,
                       width_per_group=4, se_ratio=4,
                       zero_init_residual=False), 32, 4, 4, 4),
    'SENet154': (dict(stem_channels=8, base_channels=4, groups=2,
                      se_ratio=4, zero_init_residual=False), 32, 4, 4, 4),
    'SEVGG': (dict(depth=11, se_ratio=8), 32, 5, 5, 5),
    'SEBNInception': (dict(se_ratio=16), 64, 3, 3, 3),
    'SEInceptionResNetV2': (dict(num_blocks=(1, 1, 1), se_ratio=16), 75, 3,
                            5, 3),
    'SEMobileNetV1': (dict(widen_factor=0.25, se_ratio=4), 32, 5, 5, 5),
    'SEShuffleNetV1': (dict(groups=2, widen_factor=0.5, se_ratio=4), 32, 3, 3,
                       2),
    'SECifarResNet': (dict(depth=8, base_channels=4, se_ratio=4), 16, 3, 3,
                      3),
    'SEWideResNet': (dict(depth=10, widen_factor=1, base_channels=4,
                          se_ratio=4), 16, 3, 3, 3),
}
NOT_BACKBONES = (SELayer, DropoutLinearClsHead)
WRAPPERS = ('AddSE', )  # builds a host's backbone: tests/test_add_se.py


def build(name, **kwargs):
    args = {**TINY[name][0], **kwargs}
    return MODELS.build(dict(type=f'se_plugin.{name}', **args))


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.fixture(autouse=True)
def _small(one_thread):
    torch.manual_seed(0)


def test_every_registered_backbone_is_covered():
    registered = {
        name for name, cls in MODELS.module_dict.items()
        if name not in WRAPPERS and not issubclass(cls, NOT_BACKBONES)
    }
    assert registered == set(TINY)


@pytest.mark.parametrize('name', TINY)
def test_forward_backward_reaches_every_weight(name):
    _, size, _, outputs, _ = TINY[name]
    model = build(name, out_indices=tuple(range(outputs)))
    model.init_weights()
    assert model.train() is model and model.eval() is model
    model.train()
    outs = model(torch.randn(2, 3, size, size))
    assert isinstance(outs, tuple) and len(outs) == outputs
    sizes = [o.shape[-1] for o in outs]
    assert all(o.shape[0] == 2 and o.dim() == 4 for o in outs)
    assert sizes == sorted(sizes, reverse=True)  # strides grow
    sum(o.square().mean() for o in outs).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert not no_grad, no_grad
    # Every SE layer learns (its gate's bias always has a gradient).
    assert all(sum(p.grad.abs().sum() for p in se.parameters()) > 0
               for se in se_layers(model))


@pytest.mark.parametrize('name', TINY)
def test_out_indices_pick_the_outputs(name):
    _, size, _, outputs, _ = TINY[name]
    x = torch.randn(1, 3, size, size)
    every = build(name, out_indices=tuple(range(outputs))).eval()
    last = build(name, out_indices=(outputs - 1, )).eval()
    last.load_state_dict(every.state_dict())
    with torch.no_grad():
        all_outs, (only, ) = every(x), last(x)
    torch.testing.assert_close(only, all_outs[-1])


@pytest.mark.parametrize('name', TINY)
def test_frozen_stages_freeze_more_as_they_grow(name):
    *_, max_frozen = TINY[name]
    counts = []
    for frozen in (-1, 0, max_frozen):
        model = build(name, frozen_stages=frozen).train()
        counts.append(trainable(model))
        frozen_bns = [m for m in model.modules()
                      if isinstance(m, _BatchNorm) and not m.training]
        # 0 is the stem, which may have no BN (VGG has no stem at all).
        if frozen != 0:
            assert bool(frozen_bns) == (frozen > 0)
        for m in frozen_bns:
            assert not any(p.requires_grad for p in m.parameters())
    assert counts[0] >= counts[1] > counts[2]


@pytest.mark.parametrize('name', TINY)
def test_norm_eval_keeps_every_bn_in_eval(name):
    _, size, *_ = TINY[name]
    model = build(name, norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    # Statistics fixed, affine terms and everything else still trained.
    assert trainable(model) == sum(p.numel() for p in model.parameters())
    before = [m.running_mean.clone() for m in bns]
    model(torch.randn(2, 3, size, size))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


@pytest.mark.parametrize('name', TINY)
def test_se_stages_off_leaves_no_se_layer(name):
    _, _, stages, _, _ = TINY[name]
    assert se_layers(build(name))
    assert not se_layers(build(name, se_stages=(False, ) * stages))


@pytest.mark.parametrize('name', TINY)
@pytest.mark.parametrize('kwargs,field', [
    (dict(se_ratio=0), 'se_ratio'),
    (dict(se_ratio='16'), 'se_ratio'),
    (dict(se_stages=(True, )), 'se_stages'),
    (dict(se_cfg=dict(ratio=4)), 'se_cfg key'),
    (dict(se_cfg=[1, 2]), 'se_cfg'),
    (dict(se_cfg=dict(gate='swish')), 'gate'),
    (dict(out_indices=(99, )), 'out_indices'),
    (dict(out_indices=(-1, )), 'out_indices'),
    (dict(frozen_stages=99), 'frozen_stages'),
])
def test_bad_arguments_name_the_field(name, kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        build(name, **kwargs)


@pytest.mark.parametrize('name', TINY)
def test_pretrained_is_mmsegs_init_cfg(name):
    """mmseg's EncoderDecoder hands the model's ``pretrained`` to the
    backbone; every backbone takes it as mmseg's own do."""
    with pytest.warns(UserWarning, match="pretrained='r.pth' is deprecated"):
        model = build(name, pretrained='r.pth')
    assert model.init_cfg == dict(type='Pretrained', checkpoint='r.pth')
    assert build(name, pretrained=None).init_cfg == build(name).init_cfg
    with pytest.raises(ValueError, match=r"^pretrained \('r.pth'\) and "
                       r'init_cfg \(.*\) are both set; keep one'):
        build(name, pretrained='r.pth',
              init_cfg=dict(type='Pretrained', checkpoint='s.pth'))
    with pytest.raises(TypeError, match='^pretrained must be a checkpoint'):
        build(name, pretrained=True)
