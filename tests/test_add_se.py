"""se_plugin.add_se / AddSE: SE on hosts nobody here wrote (models/hosts.py).

Per host family: SE count and channels per stage as the rule says, forward
and backward reaching every SE, a plain checkpoint loading with only the SE
keys missing, ``stages`` all off being the host, identity initialisation
starting at the host's output. Then what the host does that must keep
working: frozen stages, ``with_cp``, ``zero_init_residual``, SyncBN and
FrozenBN conversion, deepcopy, torch.compile, the lean tail's memory.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn

from se_plugin import SELayer, add_se
from se_plugin.analysis.memory import saved_tensor_bytes
from se_plugin.models.layers import se_residual
from se_plugin.registry import MODELS
from helpers import check_with_cp, randomize_bn, se_layers

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _mmpretrain(type, **kwargs):
    from mmpretrain.registry import MODELS as HOST
    return HOST.build(dict(type=type, **kwargs))


def _mmdet(type, **kwargs):
    from mmdet.registry import MODELS as HOST
    return HOST.build(dict(type=type, **kwargs))


def _mmseg(type, **kwargs):
    from mmseg.registry import MODELS as HOST
    return HOST.build(dict(type=type, **kwargs))


def _timm(block, **kwargs):
    from timm.models import resnet
    return resnet.ResNet(getattr(resnet, block), (1, 1, 1, 1),
                         num_classes=4, **kwargs)


def _torchvision(block, **kwargs):
    from torchvision.models import resnet
    return resnet.ResNet(getattr(resnet, block), (1, 1, 1, 1),
                         num_classes=4, **kwargs)


TINY = dict(stem_channels=8, base_channels=8, out_indices=(0, 1, 2, 3))
HRNET_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(2, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(1, 1), num_channels=(8, 16)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
    stage4=dict(num_modules=2, num_branches=4, block='BASIC',
                num_blocks=(1, 1, 1, 1), num_channels=(8, 16, 32, 64)))


def per_stage(counts, channels):
    return [[c] * n for n, c in zip(counts, channels)]


BOTTLENECK_50 = per_stage((3, 4, 6, 3), (32, 64, 128, 256))

# host: (build, [[SE channels of each block] per stage]) at position
# standard: what each block outputs, from the host's widths.
HOSTS = {
    'mmpretrain.ResNet-18': (
        lambda **kw: _mmpretrain('ResNet', depth=18, **TINY, **kw),
        per_stage((2, 2, 2, 2), (8, 16, 32, 64))),
    'mmpretrain.ResNetV1d-50': (
        lambda **kw: _mmpretrain('ResNetV1d', depth=50, **TINY, **kw),
        BOTTLENECK_50),
    'mmpretrain.ResNeXt-50': (
        lambda **kw: _mmpretrain('ResNeXt', depth=50, groups=2,
                                 width_per_group=4, **TINY, **kw),
        BOTTLENECK_50),
    'mmpretrain.RegNet': (
        lambda **kw: _mmpretrain(
            'RegNet', arch=dict(w0=8, wa=8.0, wm=2.0, group_w=8, depth=6,
                                bot_mul=1.0),
            stem_channels=8, out_indices=(0, 1, 2, 3), **kw),
        None),  # widths from RegNet's quantisation: checked against convs
    'mmpretrain.MobileNetV2': (
        lambda **kw: _mmpretrain('MobileNetV2', widen_factor=0.25,
                                 out_indices=(1, 3, 7), **kw),
        # the expanded width: in_channels x expand ratio (1, then 6)
        [[8], [48, 48], [48] * 3, [48, 96, 96, 96], [96, 144, 144],
         [144, 240, 240], [240]]),
    'mmdet.ResNet-18': (
        lambda **kw: _mmdet('ResNet', depth=18, stem_channels=8,
                            base_channels=8, **kw),
        per_stage((2, 2, 2, 2), (8, 16, 32, 64))),
    'mmdet.ResNet-50': (
        lambda **kw: _mmdet('ResNet', depth=50, stem_channels=8,
                            base_channels=8, **kw),
        BOTTLENECK_50),
    'mmdet.HRNet': (
        lambda **kw: _mmdet('HRNet', extra=HRNET_EXTRA, **kw),
        # layer1: 2 bottlenecks (8 * 4); stage2-4: one block per branch per
        # HR module, the branch's width
        [[32, 32], [8, 16], [8, 16, 32], [8, 16, 32, 64] * 2]),
    'mmseg.ResNetV1c-50': (
        lambda **kw: _mmseg('ResNetV1c', depth=50, stem_channels=8,
                            base_channels=8, **kw),
        BOTTLENECK_50),
    'timm.resnet-basic': (lambda **kw: _timm('BasicBlock', **kw),
                          [[64], [128], [256], [512]]),
    'timm.resnet-bottleneck': (lambda **kw: _timm('Bottleneck', **kw),
                               [[256], [512], [1024], [2048]]),
    'torchvision.resnet-basic': (
        lambda **kw: _torchvision('BasicBlock', **kw),
        [[64], [128], [256], [512]]),
    'torchvision.resnet-bottleneck': (
        lambda **kw: _torchvision('Bottleneck', **kw),
        [[256], [512], [1024], [2048]]),
}


@pytest.fixture(autouse=True)
def _small(one_thread):
    torch.manual_seed(0)


def mode(model, train):
    """``model.train(train)``, returning the model (mmdet's and
    mmpretrain's ResNet return None)."""
    model.train(train)
    return model


def outputs(model, x):
    out = model(x)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def stage_ses(model):
    """[[SE channels of each SE in the stage] per stage] (find_stages)."""
    from se_plugin.models.hosts import find_stages
    blocks = [m for m in model.modules()
              if isinstance(getattr(m, 'se', None), SELayer)]
    return [[m.se.in_channels for m in stage.modules() if m in blocks]
            for _, stage in find_stages(model, blocks)]


@pytest.mark.parametrize('host', HOSTS)
def test_se_count_and_channels_per_stage(host):
    build, expected = HOSTS[host]
    model = add_se(build(), ratio=4)
    found = stage_ses(model)
    if expected is None:  # RegNet: each block's conv3 width, 4 stages
        expected = [[b.conv3.out_channels for b in getattr(model, layer)]
                    for layer in model.res_layers]
        assert len(expected) == 4
    assert [sorted(s) for s in found] == [sorted(s) for s in expected]
    for se in se_layers(model):
        assert se.squeeze_channels == max(se.in_channels // 4, 1)


@pytest.mark.parametrize('host', HOSTS)
def test_forward_backward_reaches_every_se(host):
    model = mode(add_se(HOSTS[host][0](), ratio=4), True)
    ses = se_layers(model)
    assert ses
    for se in ses:  # no SE whose few hidden ReLUs all start dead
        nn.init.constant_(se.fc1.bias, 1.)
    randomize_bn(model)  # timm zeroes each block's last BN weight
    x = torch.randn(2, 3, 32, 32)
    sum(o.float().pow(2).mean() for o in outputs(model, x)).backward()
    for se in ses:
        for p in se.parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize('host', HOSTS)
def test_plain_checkpoint_loads_with_only_se_keys_missing(host):
    build = HOSTS[host][0]
    plain = build()
    model = add_se(build(), ratio=4)
    plain_keys, keys = set(plain.state_dict()), set(model.state_dict())
    se_keys = {k for k in keys if '.se.' in k}
    assert se_keys and plain_keys == keys - se_keys  # host keys unchanged
    result = model.load_state_dict(plain.state_dict(), strict=False)
    assert set(result.missing_keys) == se_keys
    assert result.unexpected_keys == []
    for k, v in plain.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


@pytest.mark.parametrize('host', HOSTS)
def test_stages_all_off_is_the_host(host):
    build = HOSTS[host][0]
    torch.manual_seed(1)
    plain = mode(build(), False)
    n = len(HOSTS[host][1] or [0] * 4)
    model = mode(add_se(build(), stages=(False, ) * n), False)
    model.load_state_dict(plain.state_dict())
    assert se_layers(model) == []
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(outputs(model, x), outputs(plain, x)):
        assert torch.equal(a, b)


def test_stages_select_stages():
    model = add_se(HOSTS['mmdet.ResNet-50'][0](),
                   stages=(False, True, False, True))
    assert [len(s) for s in stage_ses(model)] == [4, 3]
    assert all(not hasattr(b, 'se') for b in model.layer1)
    assert all(not hasattr(b, 'se') for b in model.layer3)
    with pytest.raises(ValueError, match=r'stages must be 4 bools, one per '
                       r'stage \(layer1, layer2, layer3, layer4\)'):
        add_se(HOSTS['mmdet.ResNet-50'][0](), stages=(True, ) * 3)


def step0_diff(build, identity_init):
    """max |SE model - host| at step 0: a "pretrained" host (random weights,
    BN statistics off their defaults) and the same weights with SE added,
    in training (the lean tail) and in eval mode."""
    torch.manual_seed(2)
    host = build()
    randomize_bn(host)
    model = add_se(copy.deepcopy(host), identity_init=identity_init)
    x = torch.randn(2, 3, 32, 32)
    diffs = []
    for mode in (True, False):
        host.train(mode)
        model.train(mode)
        for a, b in zip(outputs(model, x), outputs(host, x)):
            diffs.append((a - b).abs().max().item())
    return max(diffs)


@pytest.mark.parametrize('host', HOSTS)
def test_identity_init_starts_at_the_host(host):
    build = HOSTS[host][0]
    assert step0_diff(build, identity_init=True) == 0
    assert step0_diff(build, identity_init=False) > 0.1


def test_identity_init_with_a_plain_checkpoint_is_the_host(tmp_path):
    """The fine-tuning route: AddSE over a host whose init_cfg loads plain
    weights; after init_weights, step 0 is the host's, output for output
    (mmdet's ResNet-50 and HRNet)."""
    for name in ('mmdet.ResNet-50', 'mmdet.HRNet'):
        torch.manual_seed(8)
        plain = HOSTS[name][0]()
        randomize_bn(plain)
        torch.save(plain.state_dict(), tmp_path / 'plain.pth')
        pretrained = dict(type='Pretrained',
                          checkpoint=str(tmp_path / 'plain.pth'))
        model = MODELS.build(dict(
            type='se_plugin.AddSE', identity_init=True,
            backbone=HOSTS[name][0](init_cfg=pretrained)))
        model.init_weights()
        x = torch.randn(2, 3, 32, 32)
        for train in (True, False):
            mode(model, train)
            mode(plain, train)
            for a, b in zip(model(x), plain(x)):
                assert torch.equal(a, b)


def test_identity_init_learns_from_step_0():
    model = add_se(HOSTS['mmdet.ResNet-50'][0](), identity_init=True)
    model.train()
    x = torch.randn(2, 3, 32, 32)
    sum(o.pow(2).mean() for o in outputs(model, x)).backward()
    for se in se_layers(model):
        assert se.gate == '2sigmoid'
        assert se.fc2.weight.grad.abs().sum() > 0


def test_identity_init_needs_a_gate_at_1():
    with pytest.raises(ValueError, match="identity_init needs gate='2sig"):
        add_se(HOSTS['mmdet.ResNet-18'][0](), identity_init=True,
               se_cfg=dict(gate='sigmoid'))


def test_identity_init_survives_host_init_weights_not_loaded_se(tmp_path):
    # mmdet's ResNet re-draws every Conv2d (Kaiming) in init_weights.
    build = HOSTS['mmdet.ResNet-50'][0]
    model = MODELS.build(dict(type='se_plugin.AddSE', backbone=build(),
                              identity_init=True))
    model.init_weights()
    for se in se_layers(model):
        assert se.fc2.weight.abs().sum() == 0
        assert se.fc1.weight.abs().sum() > 0
    # ... but not SE weights a checkpoint gives (an SE model's own).
    trained = add_se(build(), identity_init=True)
    for se in se_layers(trained):
        nn.init.normal_(se.fc2.weight)
    torch.save(trained.state_dict(), tmp_path / 'se.pth')
    model = MODELS.build(dict(
        type='se_plugin.AddSE', identity_init=True,
        backbone=build(init_cfg=dict(type='Pretrained',
                                     checkpoint=str(tmp_path / 'se.pth')))))
    model.init_weights()
    for a, b in zip(se_layers(model), se_layers(trained)):
        assert torch.equal(a.fc2.weight, b.fc2.weight)


def test_no_rule_is_an_error_naming_class_and_families():
    convnext = _mmpretrain('ConvNeXt', arch=dict(depths=[1, 1, 1, 1],
                                                 channels=[8, 8, 8, 8]))
    with pytest.raises(ValueError) as err:
        add_se(convnext)
    message = str(err.value)
    assert 'ConvNeXt' in message and 'no SE would be added' in message
    assert 'mmdet.models.backbones.resnet.Bottleneck' in message
    assert 'torchvision.models.resnet.BasicBlock' in message
    # a subclass of a supported block runs its own forward: no guessing
    res2net = _mmdet('Res2Net', depth=50, base_channels=8, stem_channels=8)
    with pytest.raises(ValueError, match='no rule for mmdet.models.backbones'
                       '.res2net.Bottle2neck: it subclasses mmdet.models.'
                       'backbones.resnet.Bottleneck'):
        add_se(res2net)
    model = add_se(HOSTS['mmdet.ResNet-18'][0]())
    with pytest.raises(ValueError, match='already has SE'):
        add_se(model)


def test_positions_where_the_block_allows_them():
    x = torch.randn(2, 3, 32, 32)
    for position, channels in (('pre', 64), ('post', 64), ('identity', 64),
                               ('3x3', 16), ('standard', 64)):
        model = add_se(HOSTS['mmdet.ResNet-50'][0](), position=position,
                       stages=(False, True, False, False))
        mode(model, False)
        assert model.layer2[1].se.in_channels == channels
        plain = mode(HOSTS['mmdet.ResNet-50'][0](), False)
        plain.load_state_dict(model.state_dict(), strict=False)
        assert not torch.equal(model(x)[-1], plain(x)[-1])
    with pytest.raises(ValueError, match=r"position '3x3' is not allowed in "
                       r'layer1.0 \(mmdet.models.backbones.resnet.BasicBlock'):
        add_se(HOSTS['mmdet.ResNet-18'][0](), position='3x3')
    with pytest.raises(ValueError, match='InvertedResidual.*allowed'):
        add_se(HOSTS['mmpretrain.MobileNetV2'][0](), position='pre')
    with pytest.raises(ValueError, match='position must be one of'):
        add_se(HOSTS['mmdet.ResNet-18'][0](), position='after_conv3')


def test_se_of_frozen_stages_is_frozen():
    model = add_se(HOSTS['mmdet.ResNet-50'][0](frozen_stages=1,
                                               norm_eval=False))
    # frozen as added (the host froze layer1 when it was built) ...
    assert all(not p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    # ... and after the host's train(), which freezes again
    model.train()
    assert not any(m.training for m in model.layer1.modules())
    assert all(m.training for m in model.layer2.modules())
    assert all(not p.requires_grad for p in model.layer1.parameters())
    mobile = add_se(HOSTS['mmpretrain.MobileNetV2'][0](frozen_stages=2))
    mobile.train()  # where mmpretrain's MobileNetV2 freezes
    assert all(not p.requires_grad for p in mobile.layer2.parameters())
    assert all(p.requires_grad for p in mobile.layer3[0].se.parameters())
    assert len(se_layers(mobile.layer2)) == 2


def test_with_cp(monkeypatch):
    x = torch.randn(2, 3, 32, 32)

    def build(with_cp):
        model = add_se(HOSTS['mmpretrain.ResNet-18'][0](with_cp=with_cp),
                       ratio=4)
        return mode(model, True)

    check_with_cp(monkeypatch, se_residual, build, x, 8)


def test_zero_init_residual_zeroes_the_norm_not_the_se():
    model = add_se(HOSTS['mmpretrain.ResNetV1d-50'][0](
        zero_init_residual=True))
    model.init_weights()
    for block in (b for layer in model.res_layers
                  for b in getattr(model, layer)):
        assert block.norm3.weight.abs().sum() == 0
        assert block.se.fc1.weight.abs().sum() > 0
        assert block.se.fc2.weight.abs().sum() > 0


def test_sync_bn_conversion_keeps_se():
    from mmengine.model import revert_sync_batchnorm
    torch.manual_seed(3)
    model = mode(add_se(HOSTS['mmdet.ResNet-50'][0](), ratio=4), False)
    randomize_bn(model)
    x = torch.randn(2, 3, 32, 32)
    ref = model(x)[-1]
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    assert isinstance(synced.layer1[0].bn3, nn.SyncBatchNorm)
    assert len(se_layers(synced)) == 16
    # SyncBN runs on GPUs only: back to BN, as mmengine does on CPU
    reverted = mode(revert_sync_batchnorm(synced), False)
    assert torch.equal(reverted(x)[-1], ref)
    mm_synced = MODELS.build(dict(
        type='se_plugin.AddSE', ratio=4,
        backbone=HOSTS['mmdet.ResNet-50'][0](
            norm_cfg=dict(type='SyncBN'))))
    assert type(mm_synced.layer1[0].bn3).__name__ == 'SyncBatchNorm'
    assert len(se_layers(mm_synced)) == 16


def torchvision_frozen_bn(module):
    """Detectron2's ``FrozenBatchNorm2d.convert_frozen_batchnorm`` with
    torchvision's frozen BN: each BN child replaced by a new module."""
    from torchvision.ops.misc import FrozenBatchNorm2d
    if isinstance(module, nn.BatchNorm2d):
        frozen = FrozenBatchNorm2d(module.num_features, module.eps)
        frozen.load_state_dict(module.state_dict(), strict=False)
        return frozen
    for name, child in module.named_children():
        new = torchvision_frozen_bn(child)
        if new is not child:
            module.add_module(name, new)
    return module


def test_frozen_bn_conversion_keeps_se_torchvision():
    torch.manual_seed(4)
    model = add_se(HOSTS['mmdet.ResNet-50'][0](), ratio=4)
    mode(model, False)
    randomize_bn(model)
    x = torch.randn(2, 3, 32, 32)
    ref = model(x)[-1]
    frozen = torchvision_frozen_bn(copy.deepcopy(model))
    assert type(frozen.layer1[0].bn3).__name__ == 'FrozenBatchNorm2d'
    torch.testing.assert_close(frozen(x)[-1], ref)
    for se in se_layers(frozen):  # SE still runs after the conversion
        nn.init.zeros_(se.fc2.weight)
        nn.init.constant_(se.fc2.bias, -20.)
    assert not torch.allclose(frozen(x)[-1], ref)


def test_frozen_bn_conversion_keeps_se_detectron2():
    fbn = pytest.importorskip('detectron2.layers').FrozenBatchNorm2d
    torch.manual_seed(4)
    model = add_se(HOSTS['torchvision.resnet-bottleneck'][0](), ratio=4)
    mode(model, False)
    randomize_bn(model)
    x = torch.randn(2, 3, 32, 32)
    ref = model(x)
    frozen = fbn.convert_frozen_batchnorm(copy.deepcopy(model))
    assert isinstance(frozen.layer1[0].bn3, fbn)
    torch.testing.assert_close(frozen(x), ref)
    for se in se_layers(frozen):  # SE still runs after the conversion
        nn.init.zeros_(se.fc2.weight)
        nn.init.constant_(se.fc2.bias, -20.)
    assert not torch.allclose(frozen(x), ref)


def test_deepcopy_is_an_independent_se_model():
    model = mode(add_se(HOSTS['mmdet.HRNet'][0](), ratio=4), False)
    twin = copy.deepcopy(model)
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(twin(x), model(x)):
        assert torch.equal(a, b)
    assert type(twin.layer1[0]) is type(model.layer1[0])
    nn.init.zeros_(twin.layer1[0].se.fc2.weight)
    assert model.layer1[0].se.fc2.weight.abs().sum() > 0


def test_no_graph_breaks_under_torch_compile():
    model = mode(add_se(HOSTS['mmpretrain.ResNet-18'][0](), ratio=4), True)
    explanation = torch._dynamo.explain(model)(torch.randn(2, 3, 32, 32))
    assert explanation.graph_break_count == 0


def saved_mib(model):
    model = mode(model.to('meta'), True)
    x = torch.randn(8, 3, 224, 224, device='meta')
    return saved_tensor_bytes(lambda: model(x))[0] / 2**20


LEAN_HOSTS = {
    'mmdet.ResNet-50': lambda: _mmdet('ResNet', depth=50),
    'mmpretrain.ResNet-18': lambda: _mmpretrain('ResNet', depth=18),
    'mmseg.ResNetV1c-50': lambda: _mmseg('ResNetV1c', depth=50),
    'timm.resnet-bottleneck': lambda: _timm('Bottleneck'),
    'torchvision.resnet-bottleneck': lambda: _torchvision('Bottleneck'),
}


@pytest.mark.parametrize('host', LEAN_HOSTS)
def test_lean_tail_saves_within_2_percent_of_the_host(host):
    """Saved-for-backward bytes at batch 8, 224x224, counted on meta."""
    build = LEAN_HOSTS[host]
    plain = saved_mib(build())
    lean = saved_mib(add_se(build()))
    reference = saved_mib(add_se(build(), se_cfg=dict(lean=False)))
    assert lean / plain <= 1.02
    assert reference / plain > 1.1  # the lean tail is what keeps it down


def test_same_model_as_mmcv_plugins_route():
    # mmdet's ResNet-50 with SELayer as an mmcv plugin after conv3 ...
    torch.manual_seed(5)
    plugged = _mmdet(
        'ResNet', depth=50, stem_channels=8, base_channels=8,
        plugins=[dict(cfg=dict(type='se_plugin.SELayer', ratio=16),
                      stages=(True, ) * 4, position='after_conv3')])
    mode(plugged, False)
    randomize_bn(plugged)
    model = MODELS.build(dict(
        type='se_plugin.AddSE',
        backbone=dict(type='mmdet.ResNet', depth=50, stem_channels=8,
                      base_channels=8)))
    mode(model, False)
    # ... has the same weights under the plugin's name
    state = {k.replace('.se_after_conv3.', '.se.'): v
             for k, v in plugged.state_dict().items()}
    model.load_state_dict(state)
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(model(x), plugged(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_se_resnet_weights_load_into_addse_resnet50():
    from se_plugin import SEResNet
    torch.manual_seed(6)
    ours = SEResNet(depth=50, **TINY).eval()
    randomize_bn(ours)
    model = MODELS.build(dict(
        type='se_plugin.AddSE',
        backbone=dict(type='mmpretrain.ResNet', depth=50, **TINY)))
    mode(model, False)
    model.load_state_dict(ours.state_dict())  # strict: the same keys
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(model(x), ours(x)):
        assert torch.equal(a, b)


def test_addse_builds_in_host_scope_and_maps_pretrained():
    from mmengine.registry import DefaultScope
    cfg = dict(type='se_plugin.AddSE', backbone=dict(
        type='ResNetV1c', depth=50, stem_channels=8, base_channels=8),
        pretrained='open-mmlab://resnet50_v1c')
    with DefaultScope.overwrite_default_scope('mmseg'):
        from mmseg.registry import MODELS as SEG
        model = SEG.build(cfg)
    assert type(model).__module__ == 'mmseg.models.backbones.resnet'
    assert model.init_cfg == dict(type='Pretrained',
                                  checkpoint='open-mmlab://resnet50_v1c')
    assert len(se_layers(model)) == 16
    cfg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint='x')
    with pytest.raises(ValueError, match='pretrained=.*init_cfg=.*keep one'):
        with DefaultScope.overwrite_default_scope('mmseg'):
            SEG.build(cfg)


def test_timm_se_fills_its_slot_as_timm_seresnet():
    """SE at timm's own ``se`` attribute: timm's SE-ResNet (``attn_layer=
    'se'``) weights load key for key and give the same outputs."""
    torch.manual_seed(7)
    seresnet = _timm('Bottleneck', block_args=dict(attn_layer='se'))
    randomize_bn(seresnet)  # timm zeroes each block's last BN weight
    model = add_se(_timm('Bottleneck'), ratio=16)
    model.load_state_dict(seresnet.state_dict())  # strict: the same keys
    x = torch.randn(2, 3, 32, 32)
    for train in (False, True):
        mode(model, train)
        mode(seresnet, train)
        # same math, summed in another order (fused addcmul, fp32 pool),
        # which train-mode BN over a 1x1 map amplifies
        ref = seresnet(x)
        torch.testing.assert_close(model(x), ref, rtol=1e-3,
                                   atol=1e-3 * ref.abs().max().item())
    with pytest.raises(ValueError, match='layer1.0 .* already has an se: '
                       'SEModule'):
        add_se(seresnet)


CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/add_se/*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_with_se_on_its_host(path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(path)
    import_modules_from_strings(**cfg.custom_imports)
    scope = cfg.default_scope
    registry = {
        'mmdet': 'mmdet.registry',
        'mmpretrain': 'mmpretrain.registry',
        'mmseg': 'mmseg.registry'
    }[scope]
    host = __import__(registry, fromlist=['MODELS']).MODELS
    inner = cfg.model.backbone.host
    assert cfg.model.backbone.type == 'se_plugin.AddSE'
    with DefaultScope.overwrite_default_scope(scope):
        model = host.build(cfg.model)  # no init_weights: nothing downloads
        assert isinstance(model.backbone, host.get(inner))
    backbone = model.backbone
    assert len(se_layers(backbone)) >= 8
    if scope == 'mmseg':  # model-level pretrained= reached the host
        assert backbone.init_cfg['checkpoint'] == cfg.model.pretrained
    backbone.eval()
    with torch.no_grad():
        out = backbone(torch.rand(1, 3, 64, 64))
    assert len(out) >= 1


@pytest.mark.slow
def test_demo_trains_mobilenet_v2_with_se(demo_root, tmp_path):
    import json
    import subprocess
    import sys
    config = 'configs/demo/se-mobilenet-v2_8xb32_in1k_demo.py'
    root = osp.join(demo_root, 'imagenet')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
         *[f'{split}_dataloader.dataset.data_root={root}'
           for split in ('train', 'val', 'test')]],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(line) for path in glob.glob(
        f'{tmp_path}/*/vis_data/scalars.json') for line in open(path)]
    losses = [r['loss'] for r in rows if 'loss' in r]
    assert len(losses) == 96 // 16 and all(loss > 0 for loss in losses)
    assert any('accuracy/top1' in r for r in rows)
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu',
                      weights_only=False)
    assert any('.se.fc2.weight' in k for k in ckpt['state_dict'])
