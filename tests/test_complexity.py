"""Every complexity figure the paper prints for SE-ResNet-50 (Tables 2, 10,
13, 15, 16) and Eq. 5, counted on the built models."""
import pytest
from mmengine.registry import MODELS, init_default_scope

from se_plugin.utils.classifier import classifier
from se_plugin.utils.complexity import PAPER_ROWS, count_macs, count_params

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


@pytest.mark.parametrize('row', PAPER_ROWS, ids=[r[1] for r in PAPER_ROWS])
def test_paper_row(row):
    table, name, backbone, paper_params, paper_gflops = row
    model = MODELS.build(classifier(backbone))
    # The printed tables round loosely (r=8 by Eq. 5 is 30.60M, printed 30.7).
    assert abs(count_params(model) / 1e6 - paper_params) <= 0.1
    if paper_gflops is not None:
        gflops = count_macs(model) / 1e9
        assert round(gflops, 2) == paper_gflops


def test_caffe_and_pytorch_style_macs():
    # Same weights; the stride moves from the 1x1 to the 3x3 conv.
    caffe = count_macs(build(style='caffe', se_stages=(False, ) * 4)) / 1e9
    pytorch = count_macs(build(style='pytorch', se_stages=(False, ) * 4)) / 1e9
    assert round(caffe, 3) == 3.858 and round(pytorch, 3) == 4.089
