"""The paper's excitation analysis (se_plugin/analysis/excitation.py and
tools/analysis/excitation.py): block names for every backbone of the zoo,
a constant gate's flat curves, and the tool's per-class statistics against
a hand computation on a classifier trained here on the demo data."""
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.runner import load_checkpoint
from mmpretrain.structures import DataSample

import se_plugin
from se_plugin.analysis.classifier import classifier
from se_plugin.analysis.excitation import (ExcitationRecorder, block_names,
                                           collect_excitations,
                                           sample_channels, select_indices,
                                           stage_ends)
from se_plugin.analysis.excitation_plots import plot_across_classes
from helpers import constant_gate, se_layers

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/seresnet50_8xb32_in1k_demo.py'
# The demo classifier shrunk to an SE-ResNet-18 of width 8 (stage outputs
# 8 ... 64): trains one epoch of the demo data in seconds.
TINY = {'model.backbone.depth': 18, 'model.backbone.base_channels': 8,
        'model.backbone.stem_channels': 8, 'model.head.in_channels': 64}


def stage(stage_id, blocks):
    return [f'SE_{stage_id}_{b}' for b in range(1, blocks + 1)]


# The paper's names of SE-ResNet-50's 16 blocks (Fig. 6 and 7 use them).
PAPER_RESNET50 = stage(2, 3) + stage(3, 4) + stage(4, 6) + stage(5, 3)

ZOO = [
    (dict(type='SEResNet', depth=50, stem_channels=8, base_channels=8), 64,
     PAPER_RESNET50),
    (dict(type='SEResNeXt', depth=50, stem_channels=8, base_channels=8,
          groups=4, width_per_group=2), 64, PAPER_RESNET50),
    (dict(type='SENet154', stem_channels=16, base_channels=8, groups=4), 64,
     stage(2, 3) + stage(3, 8) + stage(4, 36) + stage(5, 3)),
    # No downsampling before its first conv group: stage 0 (stride 1).
    (dict(type='SEVGG', depth=11), 32,
     stage(0, 1) + stage(1, 1) + stage(2, 2) + stage(3, 2) + stage(4, 2)),
    # The docstring's stages: block 1 at stride 2, 2-3, 4-5, 6-11, 12-13.
    (dict(type='SEMobileNetV1', widen_factor=0.25), 64,
     stage(1, 1) + stage(2, 2) + stage(3, 2) + stage(4, 6) + stage(5, 2)),
    (dict(type='SEBNInception'), 64, stage(3, 2) + stage(4, 5) + stage(5, 3)),
    (dict(type='SEShuffleNetV1', widen_factor=0.5), 64,
     stage(3, 4) + stage(4, 8) + stage(5, 4)),
    (dict(type='SEInceptionResNetV2', num_blocks=(1, 1, 2)), 299,
     stage(3, 1) + stage(4, 1) + stage(5, 2)),
    (dict(type='SECifarResNet', depth=8, base_channels=4), 32,
     stage(0, 1) + stage(1, 1) + stage(2, 1)),
    (dict(type='SEWideResNet', depth=10, widen_factor=1), 32,
     stage(0, 1) + stage(1, 1) + stage(2, 1)),
]


@pytest.mark.parametrize('cfg,size,names', ZOO,
                         ids=[c['type'] for c, _, _ in ZOO])
def test_every_backbone_gets_the_papers_block_names(cfg, size, names,
                                                    one_thread):
    model = getattr(se_plugin, cfg['type'])(
        **{k: v for k, v in cfg.items() if k != 'type'}).eval()
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        plain = model(x)
        with ExcitationRecorder(model) as recorder:
            hooked = model(x)
    # Hooks only read: the outputs are the model's own.
    for a, b in zip(plain, hooked):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert len(recorder.batch) == len(se_layers(model))
    got = block_names(list(recorder.batch), recorder.sizes, (size, size))
    assert list(got.values()) == names
    # Each layer's record is its excitation of the map it scaled.
    first, layer = next(iter(recorder.layers.items()))
    assert recorder.batch[first].shape == (1, layer.in_channels)


def test_block_names_round_odd_sizes_to_the_nominal_stride():
    # A 225-pixel input through padded stride-2 layers: 57, 29, 15, 8.
    sizes = {'a': (57, 57), 'b': (29, 29), 'c': (15, 15), 'd': (8, 8),
             'e': (8, 8)}
    assert list(block_names(list(sizes), sizes, (225, 225)).values()) == [
        'SE_2_1', 'SE_3_1', 'SE_4_1', 'SE_5_1', 'SE_5_2']


def test_stage_ends_are_the_blocks_before_downsampling():
    assert stage_ends(PAPER_RESNET50) == [
        'SE_2_3', 'SE_3_4', 'SE_4_6', 'SE_5_3']


def test_select_indices_and_channels():
    labels = [2, 0, 1, 0, 2, 0, 1]
    assert select_indices(labels) == list(range(7))
    assert select_indices(labels, per_class=1) == [0, 1, 2]
    assert select_indices(labels, wanted=[0, 2], per_class=2) == [0, 1, 3, 4]
    assert sample_channels(2048, 50).tolist()[:3] == [0, 42, 84]
    assert len(sample_channels(2048, 50)) == 50
    assert sample_channels(16, 50).tolist() == list(range(16))


def test_a_constant_gate_gives_flat_curves(one_thread):
    init_default_scope('mmpretrain')
    model = MODELS.build(classifier(
        dict(type='se_plugin.SEResNet', depth=18, stem_channels=8,
             base_channels=8), num_classes=3, in_channels=64))
    gates = {}
    for i, se in enumerate(se_layers(model)):
        bias = -2 + 0.5 * i  # one constant per layer: sigmoid 0.12 ... 0.95
        gates[se] = constant_gate(se, bias, bias).flatten()[0].item()
    torch.manual_seed(0)
    batches = [
        dict(inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
                     for _ in range(4)],
             data_samples=[DataSample().set_gt_label(k % 3)
                           for k in range(4)]) for _ in range(2)
    ]
    stats = collect_excitations(model, batches, ['a', 'b', 'c'])
    assert stats.labels == [0, 1, 2] and stats.counts().tolist() == [4, 2, 2]
    by_module = dict(model.named_modules())
    for row in stats.summary(threshold=0.9):
        expected = gates[by_module[row.module]]
        mean, std = stats.mean_std(row.name)
        np.testing.assert_allclose(mean, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(std, 0, atol=1e-6)
        assert row.between < 1e-6 and row.within < 1e-6
        assert row.saturation == float(expected >= 0.9)
    # Drawn: every class's curve and the 'all' curve are flat at the gate.
    block = stats.blocks[-1]
    fig = plot_across_classes(stats, [block], [0, 1, 2], channels=10)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ['a', 'b', 'c', 'all']
    for line in lines:
        np.testing.assert_allclose(
            line.get_ydata(), gates[by_module[stats.module_of(block)]],
            atol=1e-6)


def run(*cmd):
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(demo_root, tmp_path_factory):
    """The tiny demo classifier trained one epoch on the demo data:
    (checkpoint, config options, data root)."""
    work = tmp_path_factory.mktemp('excitation_train')
    root = osp.join(demo_root, 'imagenet')
    options = dict(TINY, **{f'{s}_dataloader.dataset.data_root': root
                            for s in ('train', 'val', 'test')})
    code, out = run(sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                    str(work), '--cfg-options', *cli(options),
                    'train_cfg.max_epochs=1', 'randomness.seed=0')
    assert code == 0, out[-3000:]
    return str(work / 'epoch_1.pth'), options, root


def cli(options):
    return [f'{k}={v}' for k, v in options.items()]


def hand_excitations(ckpt, options, indices):
    """Per image, every block's s = sigmoid(W2 relu(W1 mean(x))) computed
    from the input of the SE layer, read off the BN before it."""
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    cfg.merge_from_dict(options)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model).eval()
    se_plugin.setup()  # our tools' checkpoints hold mmengine's message hub
    load_checkpoint(model, ckpt, map_location='cpu')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    blocks = [(f'SE_{i + 2}_{j + 1}', block)
              for i, layer in enumerate(model.backbone.res_layers)
              for j, block in enumerate(getattr(model.backbone, layer))]
    inputs = {}
    # A copy: the fused SE scale + sum then overwrites the BN output.
    hooks = [
        block.norm2.register_forward_hook(
            lambda m, a, out, name=name: inputs.__setitem__(name, out.clone()))
        for name, block in blocks
    ]
    labels, per_image = [], []
    with torch.no_grad():
        for i in indices:
            data = model.data_preprocessor(
                {k: [v] for k, v in dataset[i].items()}, False)
            model.extract_feat(data['inputs'])
            labels.append(int(data['data_samples'][0].gt_label))
            row = {}
            for name, block in blocks:
                se = block.se
                z = inputs[name].mean((2, 3))
                h = torch.relu(z @ se.fc1.weight.flatten(1).T + se.fc1.bias)
                row[name] = torch.sigmoid(
                    h @ se.fc2.weight.flatten(1).T + se.fc2.bias)[0].numpy()
            per_image.append(row)
    for hook in hooks:
        hook.remove()
    return np.array(labels), per_image


@pytest.mark.slow
def test_tool_matches_a_hand_computation(trained, tmp_path):
    ckpt, options, root = trained
    with open(osp.join(root, 'meta', 'val.txt')) as f:
        labels = [int(line.split()[1]) for line in f]
    cfg = Config.fromfile(osp.join(REPO, CONFIG))
    init_default_scope('mmpretrain')
    names = DATASETS.build({**cfg.val_dataloader.dataset, 'pipeline': [],
                            'data_root': root}).metainfo['classes']
    code, out = run(sys.executable, 'tools/analysis/excitation.py', CONFIG,
                    ckpt, '--split', 'val', '--classes', names[0], names[2],
                    '--per-class', '3', '--channels', '8', '--blocks',
                    'SE_3_1', '--out-dir', str(tmp_path), '--cfg-options',
                    *cli(options))
    assert code == 0, out[-3000:]
    indices = select_indices(labels, [0, 2], 3)
    assert len(indices) == 6
    hand_labels, per_image = hand_excitations(ckpt, options, indices)

    saved = np.load(tmp_path / 'excitation.npz')
    assert saved['labels'].tolist() == [0, 2]
    assert saved['counts'].tolist() == [3, 3]
    assert saved['class_names'].tolist() == [names[0], names[2]]
    assert saved['blocks'].tolist() == stage(2, 2) + stage(3, 2) + stage(
        4, 2) + stage(5, 2)
    assert saved['modules'][0] == 'backbone.layer1.0.se'
    summary = json.load(open(tmp_path / 'summary.json'))['blocks']
    for k, block in enumerate(saved['blocks']):
        for row, label in enumerate((0, 2)):
            s = np.stack([im[block] for im, lab in zip(per_image, hand_labels)
                          if lab == label])
            np.testing.assert_allclose(saved[f'mean/{block}'][row],
                                       s.mean(0), rtol=0, atol=1e-5)
            np.testing.assert_allclose(saved[f'std/{block}'][row], s.std(0),
                                       rtol=0, atol=1e-5)
        # The table's spreads are those of the saved arrays.
        mean, std = saved[f'mean/{block}'], saved[f'std/{block}']
        assert summary[k]['name'] == block
        assert math.isclose(summary[k]['between'],
                            math.sqrt(mean.var(0).mean()), rel_tol=1e-9)
        assert math.isclose(summary[k]['within'],
                            math.sqrt((std**2).mean()), rel_tol=1e-9)
    assert 'SE_5_2' in out and '6 images' in out
    for fig in ('fig6.png', 'fig6.svg', 'fig7.png', 'fig7.svg'):
        assert osp.getsize(tmp_path / fig) > 1000


@pytest.mark.slow
def test_tool_names_the_bad_option(trained, tmp_path):
    ckpt, options, _ = trained
    code, out = run(sys.executable, 'tools/analysis/excitation.py', CONFIG,
                    ckpt, '--classes', 'no-such-class', '--out-dir',
                    str(tmp_path), '--cfg-options', *cli(options))
    assert code != 0
    assert "--classes: ['no-such-class'] not among the dataset classes" in out
