"""se_plugin.detectron2: SE backbones, MODEL.SE, published weights and
tools/d2_train_net.py in Detectron2, offline.

tools/run_tests.sh installs Detectron2 (SE_PLUGIN_DETECTRON2=1) and these
tests fail there if it is missing; elsewhere they are skipped with the
reason.
"""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest
import timm
import torch

if os.environ.get('SE_PLUGIN_DETECTRON2') == '1':
    import detectron2  # noqa: F401  (tools/run_tests.sh: must be there)
else:
    pytest.importorskip('detectron2', reason='Detectron2 is not installed: '
                        'SE_PLUGIN_DETECTRON2=1 tools/setup_env.sh')
from detectron2.modeling import build_backbone, build_model  # noqa: E402

import se_plugin.detectron2 as sd2  # noqa: E402
from se_plugin import SEResNet  # noqa: E402
from se_plugin.converters import hub  # noqa: E402
from se_plugin.testing.demo_data import DET_CLASSES  # noqa: E402
from test_pretrained import (publish_timm, randomise, seed_url,  # noqa: E402
                             torch_bytes)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(REPO, 'configs', 'detectron2')
SE_R50 = osp.join(CONFIGS, 'faster_rcnn_se_R_50_FPN_2x.yaml')
DEMO = osp.join(CONFIGS, 'demo', 'faster_rcnn_se_R_50_FPN_demo.yaml')
CPU = ['MODEL.DEVICE', 'cpu']
pytestmark = pytest.mark.usefixtures('one_thread')


def timm_features(model, x):
    """res2..res5 of a timm legacy SENet."""
    with torch.no_grad():
        x = model.pool0(model.layer0(x))
        out = []
        for name in ('layer1', 'layer2', 'layer3', 'layer4'):
            x = getattr(model, name)(x)
            out.append(x)
    return dict(zip(('res2', 'res3', 'res4', 'res5'), out))


def detector(config=SE_R50, opts=()):
    return build_model(sd2.get_se_cfg(config, CPU + list(opts))).eval()


@pytest.fixture
def published_r50(caches, monkeypatch):
    """timm's legacy_seresnet50.in1k in the torch.hub cache, random
    weights: (reference model, its file)."""
    source = randomise(timm.create_model('legacy_seresnet50'))
    data = torch_bytes(source.state_dict())  # Cadene's file: a state dict
    url = publish_timm(monkeypatch, 'legacy_seresnet50.in1k', data)
    return source, seed_url(url, data)


def test_config_weights_give_the_reference_features(published_r50, tmp_path):
    source, src_file = published_r50
    cfg = sd2.get_se_cfg(SE_R50, CPU)
    assert cfg.MODEL.WEIGHTS == 'timm://legacy_seresnet50.in1k'
    assert cfg.MODEL.BACKBONE.NAME == 'build_se_resnet_fpn_backbone'
    assert cfg.SOLVER.MAX_ITER == 180000  # 2x: 180k at 16 images
    assert cfg.SOLVER.IMS_PER_BATCH == 16
    sd2.check_input_conventions(cfg)
    x = torch.randn(1, 3, 64, 64)
    reference = timm_features(source, x)
    assert reference['res5'].abs().max() > 0.05

    def trunk_features(model):
        with torch.no_grad():
            return model.backbone.bottom_up(x)

    # MODEL.WEIGHTS as the config has it: the published name, converted on
    # first use into torch.hub's cache.
    model = build_model(cfg).eval()
    sd2.SECheckpointer(model).load(cfg.MODEL.WEIGHTS)
    for name, expected in reference.items():
        assert (trunk_features(model)[name] - expected).abs().max() < 1e-4
    cached = sd2.published_checkpoint(cfg.MODEL.WEIGHTS)
    assert cached.startswith(torch.hub.get_dir())
    # The converter's file from the publisher's file: the same weights.
    out = str(tmp_path / 'se_r50_d2.pth')
    sys.argv = ['convert_senet.py', str(src_file), out, '--detectron2']
    runpy.run_path(osp.join(REPO, 'tools/model_converters/convert_senet.py'),
                   run_name='__main__')
    other = detector()
    sd2.SECheckpointer(other).load(out)
    assert (trunk_features(other)['res5'] - reference['res5']).abs().max() \
        < 1e-4
    # Every trunk tensor came from the file: none kept its init.
    a, b = torch.load(out)['model'], torch.load(cached)['model']
    assert set(a) == set(b) == {
        k.split('bottom_up.', 1)[1]
        for k in other.state_dict() if '.trunk.' in k}


def random_trunk_checkpoint(path, **backbone):
    """A Detectron2 checkpoint of a random SE-ResNet-50 in the released
    models' conventions (or those given)."""
    backbone = dict(type='SEResNet', depth=50, style='caffe', caffe_pool=True,
                    se_ratio=16, **backbone)  # as the converter infers
    trunk = SEResNet(**{k: v for k, v in backbone.items() if k != 'type'})
    state = {'backbone.' + k: v for k, v in trunk.state_dict().items()}
    torch.save(sd2.detectron2_checkpoint(state, backbone, 'random.pth'),
               path)
    return str(path)


@pytest.mark.parametrize('opts, named', [
    (['MODEL.RESNETS.STRIDE_IN_1X1', 'False'], 'MODEL.RESNETS.STRIDE_IN_1X1'),
    (['MODEL.SE.CAFFE_POOL', 'False'], 'MODEL.SE.CAFFE_POOL'),
    (['MODEL.SE.RATIO', '8'], 'MODEL.SE.RATIO'),
    (['MODEL.RESNETS.DEPTH', '101'], 'MODEL.RESNETS.DEPTH'),
])
def test_weights_of_other_conventions_are_refused(tmp_path, opts, named):
    path = random_trunk_checkpoint(tmp_path / 'w.pth')
    with pytest.raises(hub.WeightsError, match=named):
        sd2.SECheckpointer(detector(opts=opts)).load(path)


def test_weights_need_an_se_backbone_and_every_tensor(tmp_path):
    path = random_trunk_checkpoint(tmp_path / 'w.pth')
    plain = build_model(sd2.get_se_cfg(
        osp.join(CONFIGS, 'faster_rcnn_R_50_FPN_2x.yaml'), CPU))
    with pytest.raises(hub.WeightsError, match='no SE backbone'):
        sd2.SECheckpointer(plain).load(path)
    # Trainable BN: the file has no step counters, and needs none.
    model = detector(opts=['MODEL.RESNETS.NORM', 'BN'])
    sd2.SECheckpointer(model).load(path)
    fc2 = torch.load(path)['model']['trunk.layer4.2.se.fc2.weight']
    assert torch.equal(model.backbone.bottom_up.trunk.layer4[2].se.fc2.weight,
                       fc2)
    # Conventions alike, one tensor short: Detectron2 would only log it.
    checkpoint = torch.load(path)
    del checkpoint['model']['trunk.layer3.1.se.fc1.weight']
    torch.save(checkpoint, path)
    with pytest.raises(hub.WeightsError, match='layer3.1.se.fc1.weight'):
        sd2.SECheckpointer(detector()).load(path)


def test_published_weights_need_their_input_conventions():
    cfg = sd2.get_se_cfg(SE_R50, ['INPUT.FORMAT', 'BGR'])
    with pytest.raises(hub.WeightsError, match=r'set INPUT\.FORMAT RGB'):
        sd2.check_input_conventions(cfg)
    # Detectron2's own plain config and MSRA weights are not ours to check.
    sd2.check_input_conventions(sd2.get_se_cfg(
        osp.join(CONFIGS, 'faster_rcnn_R_50_FPN_2x.yaml')))


def test_backbone_interface_freeze_and_options():
    model = detector(opts=['MODEL.BACKBONE.FREEZE_AT', '2'])
    trunk = model.backbone.bottom_up
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        out = trunk(x)
    for name, shape in trunk.output_shape().items():
        assert out[name].shape[1] == shape.channels
        assert out[name].shape[-1] * shape.stride == 96
    # FREEZE_AT 2: stem and res2 frozen, res3 on trains.
    t = trunk.trunk
    assert not any(p.requires_grad for p in t.conv1.parameters())
    assert not any(p.requires_grad for p in t.layer1.parameters())
    assert all(p.requires_grad for p in t.layer2.parameters())
    # SE-ResNeXt, dilated res5, some SE stages off, all from MODEL.*.
    trunk = build_backbone(sd2.get_se_cfg(SE_R50, [
        'MODEL.RESNETS.NUM_GROUPS', '32', 'MODEL.RESNETS.WIDTH_PER_GROUP',
        '4', 'MODEL.RESNETS.RES5_DILATION', '2', 'MODEL.SE.STAGES',
        '[False, True, True, True]', 'MODEL.BACKBONE.NAME',
        'build_se_resnet_backbone', 'MODEL.RESNETS.NORM', 'BN'])).eval()
    assert type(trunk.trunk).__name__ == 'SEResNeXt'
    # The trunk's own init (Detectron2 never calls init_weights): the last
    # BN of each block starts at zero (zero_init_residual).
    assert not trunk.trunk.layer1[0].norm3.weight.any()
    assert trunk.trunk.layer1[0].se is None and trunk.trunk.layer2[0].se
    assert trunk.trunk.layer1[0].conv2.groups == 32
    assert trunk.output_shape()['res5'].stride == 16
    with torch.no_grad():
        assert trunk(x)['res5'].shape[-1] == 96 // 16
    # RetinaNet's FPN, with GroupNorm in the trunk.
    retina = build_backbone(sd2.get_se_cfg(SE_R50, [
        'MODEL.BACKBONE.NAME', 'build_se_retinanet_resnet_fpn_backbone',
        'MODEL.RESNETS.NORM', 'GN', 'MODEL.RESNETS.OUT_FEATURES',
        '["res3", "res4", "res5"]', 'MODEL.FPN.IN_FEATURES',
        '["res3", "res4", "res5"]'])).eval()
    assert isinstance(retina.bottom_up.trunk.layer2[0].norm1,
                      torch.nn.GroupNorm)
    with torch.no_grad():
        out = retina(torch.randn(1, 3, 128, 128))
    assert {k: v.shape[-1] for k, v in out.items()} == {
        'p3': 16, 'p4': 8, 'p5': 4, 'p6': 2, 'p7': 1}


@pytest.mark.parametrize('opts, named', [
    (['MODEL.RESNETS.DEPTH', '42'], 'MODEL.RESNETS.DEPTH'),
    (['MODEL.RESNETS.NORM', 'LN'], 'MODEL.RESNETS.NORM'),
    (['MODEL.RESNETS.OUT_FEATURES', '["stem", "res5"]'],
     'MODEL.RESNETS.OUT_FEATURES'),
    (['MODEL.RESNETS.DEFORM_ON_PER_STAGE', '[False, False, True, True]'],
     'MODEL.RESNETS.DEFORM_ON_PER_STAGE'),
    (['MODEL.SE.POSITION', 'top'], 'MODEL.SE.POSITION'),
    (['MODEL.SE.STAGES', '[True]'], 'MODEL.SE.STAGES'),
    (['MODEL.SE.RATIO', '0'], 'MODEL.SE.RATIO'),
    (['MODEL.SE.GATE', 'swish'], 'MODEL.SE.GATE'),
    (['MODEL.RESNETS.WIDTH_PER_GROUP', '32'], 'MODEL.RESNETS.WIDTH_PER_GROUP'),
])
def test_bad_config_fields_are_named(opts, named):
    with pytest.raises(sd2.ConfigError, match=named.replace('.', r'\.')):
        detector(opts=opts)


def test_config_loading_errors():
    with pytest.raises(FileNotFoundError, match='nowhere.yaml'):
        sd2.get_se_cfg('nowhere.yaml')
    with pytest.raises(sd2.ConfigError, match='KEY VALUE pairs'):
        sd2.get_se_cfg(SE_R50, ['SEED'])
    from detectron2.config import get_cfg
    cfg = get_cfg()  # no add_se_config
    cfg.MODEL.BACKBONE.NAME = 'build_se_resnet_fpn_backbone'
    with pytest.raises(sd2.ConfigError, match='add_se_config'):
        build_model(cfg)


@pytest.mark.slow  # a Python subprocess
def test_import_se_plugin_needs_no_detectron2():
    code = ('import sys; sys.modules["detectron2"] = None\n'
            'import se_plugin\n'
            'try:\n    import se_plugin.detectron2\n'
            'except ImportError as e:\n    print(e)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert 'se_plugin.detectron2 needs Detectron2' in out


def d2_train_net(*args, cwd):
    """tools/d2_train_net.py as a user runs it; returns its output."""
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/d2_train_net.py'), *args],
        cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_train_evaluate_predict_on_demo_data(demo_root, tmp_path):
    coco = osp.join(demo_root, 'coco')
    datasets = []
    for name, split in (('demo_train', 'train2017'), ('demo_val', 'val2017')):
        datasets += ['--coco', name,
                     osp.join(coco, 'annotations', f'instances_{split}.json'),
                     osp.join(coco, split)]
    common = ['--config-file', DEMO, *datasets]

    def bbox_ap(out):
        # Detectron2's summary line: "copypaste: AP,AP50,..." then values.
        line = [x for x in out.splitlines() if 'copypaste: ' in x][-1]
        return float(line.split('copypaste: ')[1].split(',')[0])

    # Detectron2's evaluation (COCOEvaluator) of the untrained model ...
    before = bbox_ap(d2_train_net(*common, '--eval-only', 'SEED', '0',
                                  'OUTPUT_DIR', 'untrained', cwd=tmp_path))
    # ... then 60 iterations of DefaultTrainer, which evaluates at the end.
    out = d2_train_net(*common, 'SEED', '0', 'SOLVER.MAX_ITER', '60',
                       'OUTPUT_DIR', 'train', cwd=tmp_path)
    assert 'build_se_resnet_fpn_backbone' in open(
        tmp_path / 'train/config.yaml').read()
    # --coco registers the class names (Detectron2 logs their histogram;
    # without the fixture's numpy-alias patch it is skipped silently).
    assert f'Distribution of instances among all {len(DET_CLASSES)} ' \
        'categories' in out
    losses = [json.loads(line)['total_loss'] for line in open(
        tmp_path / 'train/metrics.json') if 'total_loss' in line]
    assert len(losses) == 3 and losses[-1] < losses[0], out[-2000:]
    after = bbox_ap(out)  # AP in percent
    assert after > before + 5, (before, after)
    # One prediction with Detectron2's DefaultPredictor.
    from detectron2.data.detection_utils import read_image
    from detectron2.engine import DefaultPredictor
    cfg = sd2.get_se_cfg(DEMO, ['MODEL.WEIGHTS',
                                str(tmp_path / 'train/model_final.pth')])
    # DefaultPredictor takes BGR and converts to INPUT.FORMAT (RGB).
    image = read_image(osp.join(coco, 'val2017', '000000000001.jpg'),
                       format='BGR')
    instances = DefaultPredictor(cfg)(image)['instances']
    assert len(instances) > 0
    assert instances.pred_classes.max() < 3
    assert instances.image_size == image.shape[:2]


def test_a_project_config_inherits_ours_and_the_zoo(tmp_path):
    (tmp_path / 'mine.yaml').write_text(
        '_BASE_: "se_plugin://detectron2/faster_rcnn_se_R_101_FPN_2x.yaml"\n'
        'MODEL:\n  ROI_HEADS:\n    NUM_CLASSES: 3\n')
    cfg = sd2.get_se_cfg(str(tmp_path / 'mine.yaml'))
    assert cfg.MODEL.ROI_HEADS.NUM_CLASSES == 3
    assert cfg.MODEL.RESNETS.DEPTH == 101  # ours
    assert cfg.SOLVER.MAX_ITER == 180000  # our base
    assert cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN == 1000  # the zoo's base
    for scheme in ('se_plugin', 'model_zoo'):
        (tmp_path / 'bad.yaml').write_text(f'_BASE_: "{scheme}://no.yaml"\n')
        with pytest.raises(sd2.ConfigError, match=f'{scheme}://no.yaml'):
            sd2.get_se_cfg(str(tmp_path / 'bad.yaml'))
