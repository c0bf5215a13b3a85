"""The CIFAR models of Tables 4-5 (pre-activation ResNet-110/164, WRN-16-8)
and every config under configs/cifar, run on CIFAR files the tests write."""
import glob
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.runner import Runner
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.datasets import CIFAR10, CIFAR100

from se_plugin.analysis.classifier import classifier
from se_plugin.analysis.complexity import count_params
from se_plugin.models.backbones import SECifarResNet, SEWideResNet
from helpers import se_layers

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'cifar', '*.py')))
PLAIN = dict(se_stages=(False, False, False))
# Tiny widths keep the structural tests fast: stem 4, stages 4/8/16.
TINY = dict(depth=8, base_channels=4, se_ratio=4)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')


pytestmark = pytest.mark.usefixtures('one_thread')


# (backbone, head in_channels, block out widths of one stage per stage,
#  units per stage, exact params with a 10-way head)
FULL = {
    # ResNet-110: 1.7M in [14] and in WRN's Table 5.
    'ResNet-110': (dict(type='se_plugin.SECifarResNet', depth=110), 64,
                   (16, 32, 64), 18, 1_730_522),
    # ResNet-164: 1.7M in [14] and in WRN's Table 5.
    'ResNet-164': (dict(type='se_plugin.SECifarResNet', depth=164), 256,
                   (64, 128, 256), 18, 1_703_258),
    # WRN-16-8: 11.0M in WRN's Table 5.
    'WRN-16-8': (dict(type='se_plugin.SEWideResNet', depth=16,
                      widen_factor=8), 512, (128, 256, 512), 2, 10_961_370),
}
PAPER_M = {'ResNet-110': 1.7, 'ResNet-164': 1.7, 'WRN-16-8': 11.0}


@pytest.mark.parametrize('name', FULL)
def test_params_match_source_papers_and_eq5(name):
    backbone, channels, widths, n, exact = FULL[name]
    plain = MODELS.build(classifier({**backbone, **PLAIN},
                                    num_classes=10, in_channels=channels))
    assert count_params(plain) == exact
    assert abs(exact / 1e6 - PAPER_M[name]) <= 0.05
    se = MODELS.build(classifier({**backbone, 'se_cfg': dict(bias=False)},
                                 num_classes=10, in_channels=channels))
    # Eq. 5: (2 / r) * sum over units of C^2, r = 16.
    assert count_params(se) - exact == 2 * n * sum(c * c
                                                   for c in widths) // 16


# The arguments every backbone takes: tests/test_models.py.
@pytest.mark.parametrize('cls,kwargs,field', [
    (SECifarResNet, dict(depth=111), 'depth must be 6n\\+2'),
    (SECifarResNet, dict(depth=26, block='bottleneck'), 'depth must be 9n'),
    (SECifarResNet, dict(depth=2), 'depth'),
    (SECifarResNet, dict(block='wide'), 'block'),
    (SECifarResNet, dict(drop_rate=1.0), 'drop_rate'),
    (SEWideResNet, dict(depth=14), 'depth must be 6n\\+4'),
])
def test_bad_arguments_raise_naming_the_field(cls, kwargs, field):
    with pytest.raises(ValueError, match=f'^{field}'):
        cls(**kwargs)


def test_depth_picks_the_unit_as_in_the_preact_paper():
    assert len(SECifarResNet(depth=110, **PLAIN).stages[0]) == 18
    assert len(SECifarResNet(depth=110).stages[0][0].convs) == 2
    model = SECifarResNet(depth=164, base_channels=4)
    assert len(model.stages[0]) == 18 and len(model.stages[0][0].convs) == 3
    assert len(SEWideResNet(depth=16, widen_factor=1).stages[2]) == 2


@pytest.mark.parametrize('kwargs,widths', [
    (dict(), (4, 8, 16)),
    (dict(depth=11, block='bottleneck'), (16, 32, 64)),
    (dict(widen_factor=3), (12, 24, 48)),
])
def test_out_indices_shapes(kwargs, widths):
    model = SECifarResNet(**{**TINY, **kwargs}, out_indices=(0, 1, 2))
    outs = model.eval()(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (2, c, 32 >> i, 32 >> i) for i, c in enumerate(widths)]
    assert len(SECifarResNet(**TINY, out_indices=(0, 2))(
        torch.rand(1, 3, 32, 32))) == 2


def test_se_stages_place_the_layers():
    model = SECifarResNet(depth=14, base_channels=4, se_ratio=2,
                          se_stages=(True, False, True))
    per_stage = [len(se_layers(s)) for s in model.stages]
    assert per_stage == [2, 0, 2]
    assert {(se.in_channels, se.squeeze_channels)
            for se in se_layers(model)} == {(4, 2), (16, 8)}
    assert not se_layers(SECifarResNet(**TINY, **PLAIN))


def test_plain_twin_is_the_se_model_without_its_se_layers():
    se, plain = SECifarResNet(**TINY), SECifarResNet(**TINY, **PLAIN)
    se_keys = {k for k in se.state_dict() if '.se.' in k}
    assert se_keys
    assert set(plain.state_dict()) == set(se.state_dict()) - se_keys
    missing, unexpected = se.load_state_dict(plain.state_dict(), strict=False)
    assert set(missing) == se_keys and not unexpected


def test_se_scales_the_branch_before_the_sum():
    block = SECifarResNet(**{**TINY, 'depth': 14}).eval().stages[0][1]
    x = torch.randn(2, 4, 8, 8)
    branch = block.convs[1](block.relu(block.norms[1](
        block.convs[0](block.relu(block.norms[0](x))))))
    expected = x + branch * block.se.excite(branch)
    torch.testing.assert_close(block(x), expected)


def test_pre_activation_units_are_identity_paths_without_their_branch():
    """Zero the last conv of every branch: every unit but a stage's first
    passes its input through untouched (a post-activation unit would apply
    ReLU after the sum); a first unit projects its BN-ReLU'd input."""
    model = SECifarResNet(depth=20, base_channels=4, **PLAIN).eval()
    for stage in model.stages:
        for block in stage:
            torch.nn.init.zeros_(block.convs[-1].weight)
    x = model.stem(torch.randn(2, 3, 32, 32))
    assert (x < 0).any()
    for stage in model.stages:
        first = stage[0]
        preact = first.relu(first.norms[0](x))
        expected = preact if first.shortcut is None else first.shortcut(preact)
        x = stage[0](x)
        assert torch.equal(x, expected)
        for block in stage[1:]:
            y = torch.randn_like(x)
            assert torch.equal(block(y), y)
    assert model.stages[0][0].shortcut is None  # 4 -> 4: identity
    assert model.stages[2][0].shortcut is not None  # 8 -> 16: projection


def test_final_bn_relu_only_on_the_last_stage():
    model = SECifarResNet(**TINY, out_indices=(0, 1, 2)).eval()
    outs = model(torch.randn(2, 3, 32, 32))
    assert (outs[0] < 0).any() and (outs[1] < 0).any()
    assert (outs[2] >= 0).all()


def test_wrn_dropout_sits_between_the_convs():
    model = SEWideResNet(depth=10, widen_factor=1, drop_rate=0.5)
    block = model.stages[1][0]
    assert block.drop.p == 0.5 and len(block.convs) == 2
    x = torch.rand(2, 3, 32, 32)
    torch.manual_seed(0)
    a = model.train()(x)[0]
    b = model(x)[0]
    assert not torch.equal(a, b)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])


def test_frozen_stages():
    model = SECifarResNet(**TINY, frozen_stages=2, norm_eval=False)
    assert model.train() is model
    assert not any(p.requires_grad for p in model.stem.parameters())
    for i, stage in enumerate(model.stages):
        frozen = i < 2
        assert all(p.requires_grad != frozen for p in stage.parameters())
        assert all(m.training != frozen for m in stage.modules()
                   if isinstance(m, _BatchNorm))
    assert model.norm.training and model.norm.weight.requires_grad
    everything = SECifarResNet(**TINY, frozen_stages=3).train()
    assert not any(p.requires_grad for p in everything.parameters())


# ---- configs, on CIFAR files in the official pickle format ----

def _write_batch(path, n, num_classes, fine):
    rng = np.random.default_rng(n)
    labels = [int(i % num_classes) for i in range(n)]
    entry = {'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             ('fine_labels' if fine else 'labels'): labels}
    with open(path, 'wb') as f:
        pickle.dump(entry, f)


@pytest.fixture
def fake_cifar(tmp_path, monkeypatch):
    """Tiny CIFAR-10/100 batches in the official layout; md5 checks off."""
    for cls, fine in ((CIFAR10, False), (CIFAR100, True)):
        folder = tmp_path / cls.__name__.lower() / cls.base_folder
        folder.mkdir(parents=True)
        num_classes = 100 if fine else 10
        for name, _ in cls.train_list:
            _write_batch(folder / name, 8, num_classes, fine)
        for name, _ in cls.test_list:
            _write_batch(folder / name, 4, num_classes, fine)
        for attr in ('train_list', 'test_list'):
            unchecked = [[name, None] for name, _ in getattr(cls, attr)]
            monkeypatch.setattr(cls, attr, unchecked)
        monkeypatch.setattr(cls, 'meta', {**cls.meta, 'md5': None})
    return tmp_path


def _dataset(loader_cfg, root):
    ds_cfg = loader_cfg.dataset.to_dict()
    ds_cfg['data_root'] = str(root / ds_cfg['type'].lower())
    return DATASETS.build(ds_cfg)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_model_and_pipelines(path, fake_cifar):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['se_plugin']
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_hooks == [dict(type='se_plugin.RNGStateHook')]
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.auto_scale_lr.base_batch_size == 128
    num_classes = 100 if path.endswith('cifar100.py') else 10
    # As mmengine's Runner: the data_preprocessor joins the model.
    model = MODELS.build({**cfg.model,
                          'data_preprocessor': cfg.data_preprocessor}).eval()
    assert bool(se_layers(model)) == osp.basename(path).startswith('se')
    train = _dataset(cfg.train_dataloader, fake_cifar)
    test = _dataset(cfg.test_dataloader, fake_cifar)
    assert (len(train), len(test)) == (8 * len(type(train).train_list), 4)
    samples = [train[0], test[0]]
    assert all(tuple(s['inputs'].shape) == (3, 32, 32) for s in samples)
    data = model.data_preprocessor(
        dict(inputs=[s['inputs'] for s in samples],
             data_samples=[s['data_samples'] for s in samples]))
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
    assert tuple(logits.shape) == (2, num_classes)


def test_short_training_run_saves_and_reloads(fake_cifar, tmp_path):
    """seresnet110_1xb128_cifar10 at tiny width for 2 epochs of 2 steps."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/cifar/seresnet110_1xb128_cifar10.py'))
    cfg.model.backbone.update(TINY)
    cfg.model.head.in_channels = 16
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=20 if split == 'train' else 4, num_workers=0)
        loader.dataset.data_root = str(fake_cifar / 'cifar10')
    cfg.train_cfg.update(max_epochs=2, val_interval=2)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    # se_plugin's allowlist makes the runner's own checkpoints weights-only.
    ckpt = torch.load(osp.join(cfg.work_dir, 'epoch_2.pth'),
                      weights_only=True)
    assert ckpt['meta']['iter'] == 4 and ckpt['rng_states']
    assert ckpt['optimizer']['param_groups'][0]['lr'] == pytest.approx(0.01)
    trained = runner.model.state_dict()
    assert all(torch.equal(trained[k], v)
               for k, v in ckpt['state_dict'].items())
    fresh = MODELS.build(cfg.model)
    fresh.load_state_dict(ckpt['state_dict'])
    assert all(torch.equal(fresh.state_dict()[k], v)
               for k, v in trained.items())
