"""Every complexity figure the paper prints (Tables 2, 3, 10, 13, 15, 16)
and Eq. 5, counted on the built models."""
import os.path as osp

import pytest
import timm
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from se_plugin.analysis.classifier import classifier
from se_plugin.analysis.complexity import (PAPER_ROWS, count_macs,
                                           count_params, format_row,
                                           measure_row)
from se_plugin.converters.hub import differing_conventions

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The complexity table lives with the ImageNet configs' results.
README = osp.join(ROOT, 'configs', 'imagenet', 'README.md')

STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]  # (N_s, C_s), ResNet-50


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')


def build(**backbone):
    return MODELS.build(
        classifier(dict(type='se_plugin.SEResNet', depth=50, **backbone)))


def se_params(model):
    return sum(p.numel() for n, p in model.named_parameters() if '.se.' in n)


def test_resnet50_and_se_resnet50_exact_counts():
    assert count_params(build(se_stages=(False, ) * 4)) == 25_557_032
    assert count_params(build()) == 28_088_024


@pytest.mark.parametrize('ratio', [2, 4, 8, 16, 32])
def test_eq5_se_weights(ratio):
    """(2/r) * sum_s N_s * C_s^2, exactly, without FC biases."""
    model = build(se_ratio=ratio, se_cfg=dict(bias=False))
    assert se_params(model) == 2 * sum(n * c * c for n, c in STAGES) // ratio


@pytest.fixture(scope='module')
def measured():
    """(params in M, GFLOPs) of every paper row, measured once."""
    init_default_scope('mmpretrain')
    return {row.name: measure_row(row) for row in PAPER_ROWS}


# Rows whose model the paper names but prints no figure for: our exact
# parameter count and our GFLOPs (3 decimals), as the complexity table
# (configs/imagenet/README.md) lists them.
# The CIFAR counts are also derived from the source papers' widths and
# Eq. 5 in tests/test_se_cifar_resnet.py.
OURS = {
    'ResNet-110': (1_730_522, 0.254),
    'SE-ResNet-110': (1_744_760, 0.254),
    'ResNet-164': (1_703_258, 0.247),
    'SE-ResNet-164': (1_905_362, 0.249),
    'WRN-16-8': (10_961_370, 1.549),
    'SE-WRN-16-8': (11_049_290, 1.549),
    'SENet-154': (115_088_984, 20.715),
}


@pytest.mark.slow  # measured: every row's full-size model, counted
@pytest.mark.parametrize('row', PAPER_ROWS, ids=[r.name for r in PAPER_ROWS])
def test_paper_row(row, measured):
    """Params within 0.1M of the printed value (the tables round loosely:
    r=8 by Eq. 5 is 30.60M, printed 30.7); FLOPs, rounded as printed,
    within one unit of the last printed digit (configs/imagenet/README.md
    lists the rows that are not exact, and why). Rows with nothing
    printed: ours."""
    params, gflops = measured[row.name]
    assert (row.params is not None or row.gflops is not None
            or row.name in OURS), f'{row.name}: nothing to check'
    if row.params is not None:
        assert abs(params - row.params) <= 0.1 + 1e-9
    if row.gflops is not None:
        unit = row.gflops_unit
        target = row.gflops if row.ours is None else row.ours
        assert abs(round(gflops / unit) - round(target / unit)) <= 1
    if row.name in OURS:
        exact, ours_gflops = OURS[row.name]
        assert round(params * 1e6) == exact
        assert round(gflops, 3) == ours_gflops


# Table 2's rows and the paper-recipe configs (configs/imagenet/
# NAME_8xb128-paper_in1k.py) that train them.
TABLE2_CONFIGS = {
    'ResNet-50': 'resnet50', 'ResNet-101': 'resnet101',
    'ResNet-152': 'resnet152', 'ResNeXt-50': 'resnext50-32x4d',
    'ResNeXt-101': 'resnext101-32x4d', 'VGG-16': 'vgg16bn',
    'BN-Inception': 'bninception',
    'Inception-ResNet-v2': 'inception-resnet-v2',
}


@pytest.mark.parametrize('row', [r for r in PAPER_ROWS
                                 if r.table == 'Table 2'],
                         ids=lambda r: r.name)
def test_paper_recipe_config_builds_the_counted_model(row):
    """Each Table 2 row's paper-recipe config has the row's backbone in
    every argument the counts and the released weights depend on (with
    the stride in the 1x1, SE-ResNeXt-50 counts 3.78 GFLOPs, not 4.25)."""
    plain = row.name[3:] if row.name.startswith('SE-') else row.name
    name = ('se' if plain != row.name else '') + TABLE2_CONFIGS[plain]
    config = Config.fromfile(osp.join(
        ROOT, f'configs/imagenet/{name}_8xb128-paper_in1k.py'))
    counted = row.model['backbone']
    assert differing_conventions(config.model.backbone, counted) == []
    assert config.model.backbone.type == counted['type']


@pytest.mark.slow
def test_inception_resnet_v2_counts_as_the_released_network():
    """Our Inception-ResNet-v2 row differs from the paper's 11.75; it is
    timm's (TF-slim's) network, counted the same way."""
    ours = MODELS.build(next(r.model for r in PAPER_ROWS
                             if r.name == 'Inception-ResNet-v2'))
    ref = timm.create_model('inception_resnet_v2', num_classes=1000)
    assert count_params(ours) == count_params(ref)
    shape = (1, 3, 299, 299)
    assert count_macs(ours, shape) == count_macs(ref, shape)


def test_caffe_and_pytorch_style_macs():
    # Same weights; the stride moves from the 1x1 to the 3x3 conv.
    caffe = count_macs(build(style='caffe', se_stages=(False, ) * 4)) / 1e9
    pytorch = count_macs(build(style='pytorch', se_stages=(False, ) * 4)) / 1e9
    # With the residual sums (one add per element, 5.5M): 3.863 and 4.095.
    assert round(caffe, 3) == 3.863 and round(pytorch, 3) == 4.095


def test_se_and_residual_sums_counted_once_per_element():
    """R50 -> SE-R50 adds the SE FC weights (2.5M MACs) plus one op per
    element of every block output (5.5M): 8.0M in all."""
    plain = build(se_stages=(False, ) * 4)
    elements = sum(n * c * (3136 // 4**s) for s, (n, c) in enumerate(STAGES))
    fc_macs = 2 * sum(n * c * c for n, c in STAGES) // 16
    assert count_macs(build()) - count_macs(plain) == elements + fc_macs


@pytest.mark.slow  # measured: every row's full-size model, counted
def test_readme_table_is_what_we_measure(measured):
    """The complexity table (configs/imagenet/README.md) is
    tools/analysis/complexity.py's --markdown output, row for row."""
    readme = open(README, encoding='utf-8').read()
    for row in PAPER_ROWS:
        line = '| ' + ' | '.join(format_row(row, *measured[row.name])) + ' |'
        assert line in readme, line


@pytest.mark.slow  # a subprocess
def test_tool_counts_configs_at_their_test_size():
    """tools/analysis/complexity.py measures a config at its test crop
    (299 for Inception-ResNet-v2, 32 for CIFAR) unless --shape says."""
    import subprocess
    import sys
    repo = ROOT
    out = subprocess.run(
        [sys.executable, 'tools/analysis/complexity.py', '--no-paper',
         'configs/cifar/seresnet110_1xb128_cifar10.py',
         'configs/imagenet/mobilenet-v1_8xb32-mobile_in1k.py'],
        cwd=repo, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()
            if line.startswith('config')]
    cifar = Config.fromfile(osp.join(
        repo, 'configs/cifar/seresnet110_1xb128_cifar10.py'))
    cifar_params = count_params(MODELS.build(cifar.model)) / 1e6
    assert [r[1:4] for r in rows] == [
        ['seresnet110_1xb128_cifar10', '32x32', f'{cifar_params:.2f}'],
        ['mobilenet-v1_8xb32-mobile_in1k', '224x224', '4.23'],  # Table 3
    ]
    assert rows[1][4] == '0.569'  # Table 3: 569 MFLOPs
