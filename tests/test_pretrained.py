"""Published names -> cache -> hash check -> conversion -> loaded weights
(se_plugin.converters.hub), offline.

Each test seeds the real cache layout (Hugging Face hub cache under HF_HOME,
torch.hub's checkpoints/ under TORCH_HOME, both in tmp_path) with a file in
the publisher's layout and key names, made from the reference model with
random weights. Downloads are replaced by a function that raises.
"""
import copy
import dataclasses
import hashlib
import io
import os.path as osp
import runpy
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
import timm
import torch
import torch.nn as nn
from matplotlib import cbook
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import se_plugin  # noqa: F401  (registers the schemes)
from se_plugin.converters import hub

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PHOTO = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
REV = '0123456789abcdef0123456789abcdef01234567'
pytestmark = pytest.mark.usefixtures('one_thread')  # small tensors


def randomise(model: nn.Module) -> nn.Module:
    """Random BN statistics (small last-BN scales keep activations O(1))."""
    torch.manual_seed(0)
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            last = name.endswith(('bn3', 'bn2')) and 'layer0' not in name
            nn.init.uniform_(m.weight, *((0.0, 0.3) if last else (0.5, 1.5)))
            nn.init.uniform_(m.bias, -0.1, 0.1)
            nn.init.uniform_(m.running_mean, -0.1, 0.1)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
    return model.eval()


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def seed_hf(repo_id: str, filename: str, data: bytes, blob: str = None):
    """The hub cache's layout: blobs/<sha256>, refs/main, snapshots/<rev>/."""
    from huggingface_hub import constants
    root = Path(constants.HF_HUB_CACHE,
                'models--' + repo_id.replace('/', '--'))
    blob = blob or hashlib.sha256(data).hexdigest()
    (root / 'blobs').mkdir(parents=True)
    (root / 'blobs' / blob).write_bytes(data)
    (root / 'refs').mkdir()
    (root / 'refs' / 'main').write_text(REV)
    (root / 'snapshots' / REV).mkdir(parents=True)
    (root / 'snapshots' / REV / filename).symlink_to(f'../../blobs/{blob}')


def seed_url(url: str, data: bytes) -> Path:
    path = Path(torch.hub.get_dir(), 'checkpoints', osp.basename(url))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def publish_timm(monkeypatch, name: str, data: bytes) -> str:
    """timm's record of ``name`` with a URL whose hash is that of ``data``
    (random weights cannot have the publisher's hash)."""
    from timm.models import _registry
    cfg = _registry._model_pretrained_cfgs[name]
    stem = osp.basename(cfg.url).rsplit('-', 1)[0]
    sha = hashlib.sha256(data).hexdigest()[:8]
    url = f'{osp.dirname(cfg.url)}/{stem}-{sha}.pth'
    monkeypatch.setitem(_registry._model_pretrained_cfgs, name,
                        dataclasses.replace(cfg, url=url))
    return url


def features(model, x):
    """The last feature map of a backbone (or of timm's forward_features)."""
    if isinstance(model, nn.Module):
        model.eval()
    with torch.no_grad():
        out = model(x)
    return out[-1] if isinstance(out, (tuple, list)) else out


def test_timm_hub_name_loads_the_reference_features(caches):
    source = randomise(timm.create_model('seresnet50'))
    from safetensors.torch import save
    seed_hf('timm/seresnet50.a1_in1k', 'model.safetensors',
            save(source.state_dict()))
    checkpoint = _load_checkpoint('timm://seresnet50.a1_in1k')
    meta = checkpoint['meta']
    assert meta['published'] == 'timm://seresnet50.a1_in1k'
    assert meta['file'].startswith(str(caches / 'hf/hub'))
    # mmengine's Pretrained init with the prefix, as every config uses it.
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    backbone = MODELS.build(dict(
        meta['model_cfg']['backbone'],
        init_cfg=dict(type='Pretrained', checkpoint='timm://seresnet50',
                      prefix='backbone.')))
    backbone.init_weights()
    x = torch.randn(1, 3, 64, 64)
    expected = features(source.forward_features, x)
    assert expected.abs().max() > 0.05
    assert (features(backbone, x) - expected).abs().max() < 1e-4


def test_default_detector_config_loads_the_papers_weights(caches, monkeypatch):
    from mmdet.registry import MODELS
    source = randomise(timm.create_model('legacy_seresnet50'))
    data = torch_bytes(source.state_dict())  # Cadene's file: a state dict
    seed_url(publish_timm(monkeypatch, 'legacy_seresnet50.in1k', data), data)
    cfg = Config.fromfile(osp.join(REPO, 'configs/faster_rcnn_se_r50_2x.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == \
        'timm://legacy_seresnet50.in1k'
    hub.check_conventions(cfg.model.backbone, cfg.pretrained)
    init_default_scope('mmdet')
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    expected = _load_checkpoint(cfg.pretrained)['state_dict']
    backbone = {k: v for k, v in detector.backbone.state_dict().items()
                if not k.endswith('num_batches_tracked')}
    assert set(backbone) == {k[len('backbone.'):] for k in expected
                             if k.startswith('backbone.')}
    # Same features: the config's stride placement and stem pool are the
    # weights' (a padded stem pool would shift its windows by one pixel).
    x = torch.randn(1, 3, 64, 64)
    reference = features(source.forward_features, x)
    assert (features(detector.backbone, x) - reference).abs().max() < 1e-4
    # The Python entry point: the same trunk, the detector in eval mode.
    model = se_plugin.get_model(
        osp.join(REPO, 'configs/faster_rcnn_se_r50_2x.py'), cfg.pretrained)
    assert not model.training
    assert (features(model.backbone, x) - reference).abs().max() < 1e-4


def test_mmpretrain_name_and_a_config_load_from(caches, monkeypatch):
    from mmpretrain.apis import ModelHub
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    name = 'seresnet50_8xb32_in1k'
    source = randomise(MODELS.build(Config.fromfile(osp.join(
        REPO, 'configs/imagenet/seresnet50_8xb32_in1k.py')).model.to_dict()
        | dict(type='mmpretrain.ImageClassifier')))
    data = torch_bytes({'meta': {'epoch': 100},
                        'state_dict': source.state_dict()})
    hub.resolve('mmpretrain://' + name)  # registers mmpretrain's index
    model = copy.deepcopy(ModelHub._models_dict[name])
    real_url = model.weights
    # The publisher's file name carries its sha256 prefix: random weights
    # under that name are a wrong file.
    seed_url(real_url, data)
    with pytest.raises(hub.WeightsError, match='not the publisher.s ae206104'):
        _load_checkpoint('mmpretrain://' + name)
    model.weights = real_url.replace(
        'ae206104', hashlib.sha256(data).hexdigest()[:8])
    monkeypatch.setitem(ModelHub._models_dict, name, model)
    seed_url(model.weights, data)
    # tools/test.py's path: load_from=NAME into the config's classifier.
    ours = MODELS.build(Config.fromfile(osp.join(
        REPO, 'configs/imagenet/seresnet50_8xb32_in1k.py')).model)
    checkpoint = load_checkpoint(ours, 'mmpretrain://' + name, strict=True)
    assert checkpoint['meta']['top1'] == 77.74
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = source.eval()(x)
        assert (ours.eval()(x) - expected).abs().max() < 1e-4


def test_unknown_names_list_close_matches():
    with pytest.raises(hub.WeightsError,
                       match='close matches: timm://legacy_seresnet50.in1k'):
        hub.resolve('timm://legacy_seresnet5')
    with pytest.raises(hub.WeightsError, match='no such weights'):
        hub.resolve('timm://seresnet50.b7_in1k')
    with pytest.raises(hub.WeightsError, match='not a timm SE architecture'):
        hub.resolve('timm://resnet50.a1_in1k')
    with pytest.raises(hub.WeightsError,
                       match='mmpretrain://seresnet50_8xb32_in1k'):
        _load_checkpoint('mmpretrain://seresnet50_8xb32')


def test_every_converter_architecture_is_reachable():
    names = hub.published_names()
    for arch in ('legacy_seresnet18', 'legacy_seresnet34', 'legacy_seresnet50',
                 'legacy_seresnet101', 'legacy_seresnet152',
                 'legacy_seresnext50_32x4d', 'legacy_senet154',
                 'seresnext101_32x4d', 'senet154'):
        assert any(n.startswith(f'timm://{arch}.') for n in names), arch
    assert 'mmpretrain://seresnet101_8xb32_in1k' in names
    assert not any('seresnet33ts' in n for n in names)


def test_wrong_hash_truncated_file_and_empty_cache(caches):
    data = torch_bytes(timm.create_model('seresnet50').state_dict())
    # A hub blob whose content is not the sha256 it is stored under.
    seed_hf('timm/seresnet50.a1_in1k', 'model.safetensors', data,
            blob='f' * 64)
    with pytest.raises(hub.WeightsError, match='not the publisher.s f{64}'):
        _load_checkpoint('timm://seresnet50.a1_in1k')
    # A download cut short: the first MB of the file the hash names.
    seed_hf('timm/seresnext50_32x4d.racm_in1k', 'model.safetensors',
            data[:1 << 20], blob=hashlib.sha256(data).hexdigest())
    with pytest.raises(hub.WeightsError,
                       match=r'\(1048576 bytes\).*incomplete download'):
        _load_checkpoint('timm://seresnext50_32x4d.racm_in1k')
    # Nothing cached, no network: which URL failed, which path to fill.
    with pytest.raises(hub.WeightsError) as err:
        _load_checkpoint('timm://seresnet50.a2_in1k')
    message = str(err.value)
    url = hub.resolve('timm://seresnet50.a2_in1k').url
    assert f'{url}: URLError' in message
    assert str(caches / 'torch/hub/checkpoints' / osp.basename(url)) in message
    assert str(caches / 'hf/hub/models--timm--seresnet50.a2_in1k') in message
    assert 'hf download timm/seresnet50.a2_in1k model.safetensors' in message


def test_conventions_are_checked(caches, monkeypatch, capsys):
    data = torch_bytes(timm.create_model('legacy_seresnet50').state_dict())
    seed_url(publish_timm(monkeypatch, 'legacy_seresnet50.in1k', data), data)
    # The paper recipe is the Caffe release's architecture; mmpretrain's
    # zoo recipe (pytorch style, padded stem pool) is not.
    paper = Config.fromfile(osp.join(
        REPO, 'configs/imagenet/seresnet50_8xb128-paper_in1k.py'))
    hub.check_conventions(paper.model.backbone,
                          'timm://legacy_seresnet50.in1k')
    zoo = osp.join(REPO, 'configs/imagenet/seresnet50_8xb32_in1k.py')
    with pytest.raises(hub.WeightsError,
                       match=r'caffe_pool=False \(weights: True\), '
                       r"style='pytorch' \(weights: 'caffe'\)"):
        hub.check_conventions(Config.fromfile(zoo).model.backbone,
                              'timm://legacy_seresnet50.in1k')
    # tools/test.py checks before it builds anything: one line, status 1.
    argv = ['tools/test.py', zoo, 'timm://legacy_seresnet50.in1k']
    monkeypatch.setattr(sys, 'argv', argv)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(osp.join(REPO, 'tools/test.py'), run_name='__main__')
    assert exit_.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith('test.py: error: the config'
                                               "'s backbone does not follow")
    assert 'caffe_pool=False (weights: True)' in err[0]
    # Neither a file nor a name: a usage error (exit 2, one line).
    monkeypatch.setattr(sys, 'argv', argv[:2] + ['nowhere.pth'])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(osp.join(REPO, 'tools/test.py'), run_name='__main__')
    assert exit_.value.code == 2
    assert 'nowhere.pth is neither a file nor a published name' in \
        capsys.readouterr().err


def test_demo_config_loads_no_weights(monkeypatch):
    from mmdet.registry import MODELS

    def refuse(*args, **kwargs):
        raise AssertionError('the demo must not load weights')

    monkeypatch.setattr(hub, 'load_published', refuse)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/demo/faster_rcnn_se_r50_2x_demo.py'))
    assert all(i['type'] != 'Pretrained' for i in cfg.model.backbone.init_cfg)
    init_default_scope('mmdet')
    MODELS.build(cfg.model).init_weights()


def test_plain_configs_take_mmdets_caffe_checkpoints():
    """MSRA's Caffe ResNets as mmdet loads them: no prefix, BGR, std 1,
    and every key of mmdet's ResNet is one of our plain backbone's."""
    from mmdet.models.backbones import ResNet
    from mmengine.runner.checkpoint import get_external_models
    from mmpretrain.registry import MODELS
    for depth in (50, 101):
        cfg = Config.fromfile(
            osp.join(REPO, f'configs/faster_rcnn_r{depth}_2x.py'))
        init = cfg.model.backbone.init_cfg
        assert init.checkpoint == \
            f'open-mmlab://detectron2/resnet{depth}_caffe'
        assert init.prefix is None
        assert init.checkpoint.split('//')[1] in get_external_models()
        assert cfg.model.data_preprocessor.std == [1.0, 1.0, 1.0]
        assert not cfg.model.data_preprocessor.bgr_to_rgb
        init_default_scope('mmpretrain')
        ours = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
        mmdet = ResNet(depth=depth, style='caffe')
        assert set(ours.state_dict()) == set(mmdet.state_dict())


def test_image_demo_classifies_the_photo(caches, monkeypatch, capsys):
    source = randomise(timm.create_model('seresnet50'))
    from safetensors.torch import save
    seed_hf('timm/seresnet50.a1_in1k', 'model.safetensors',
            save(source.state_dict()))
    monkeypatch.setattr(sys, 'argv', [
        'tools/image_demo.py', PHOTO, 'timm://seresnet50.a1_in1k',
        '--topk', '3'])
    runpy.run_path(osp.join(REPO, 'tools/image_demo.py'), run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()[-3:]
    printed = [(int(line.split()[1]), float(line.split()[2]))
               for line in lines]
    # The reference: timm's model on ImageNet's evaluation crop.
    from mmpretrain.datasets.transforms import CenterCrop, ResizeEdge
    img = mmcv.imread(PHOTO)
    img = ResizeEdge(scale=256, edge='short')(dict(img=img))['img']
    img = CenterCrop(crop_size=224)(dict(img=img))['img'][..., ::-1]
    x = (torch.from_numpy(img.copy()).permute(2, 0, 1).float() -
         torch.tensor([123.675, 116.28, 103.53])[:, None, None]) / \
        torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    with torch.no_grad():
        probs = source(x[None]).softmax(-1)[0]
    top = probs.topk(3)
    assert [i for i, _ in printed] == top.indices.tolist()
    assert np.allclose([p for _, p in printed], top.values.numpy(), atol=1e-5)
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    assert lines[0].endswith(IMAGENET_CATEGORIES[printed[0][0]])


def test_image_demo_draws_detections(tmp_path, monkeypatch, capsys):
    from mmdet.apis import inference_detector, init_detector
    config = osp.join(REPO, 'configs/demo/faster_rcnn_se_r50_2x_demo.py')
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = init_detector(cfg, None, device='cpu')
    ckpt = tmp_path / 'detector.pth'
    torch.save({'state_dict': detector.state_dict(),
                'meta': {'dataset_meta': {'classes': cfg.metainfo.classes}}},
               ckpt)
    out = tmp_path / 'boxes.jpg'
    monkeypatch.setattr(sys, 'argv', [
        'tools/image_demo.py', PHOTO, config, '--weights', str(ckpt),
        '--score-thr', '0.05', '--out-file', str(out)])
    runpy.run_path(osp.join(REPO, 'tools/image_demo.py'), run_name='__main__')
    lines = capsys.readouterr().out.strip().splitlines()
    expected = inference_detector(
        init_detector(cfg, str(ckpt), device='cpu'), PHOTO)
    scores = expected.pred_instances.scores
    kept = int((scores >= 0.05).sum())
    assert kept > 0 and lines[-1].startswith(f'{kept} boxes')
    assert [float(line.split()[1]) for line in lines[-1 - kept:-1]] == \
        pytest.approx(scores[scores >= 0.05].tolist(), abs=1e-6)
    drawn, photo = mmcv.imread(str(out)), mmcv.imread(PHOTO)
    assert drawn.shape == photo.shape
    assert np.abs(drawn.astype(int) - photo).max() > 100  # boxes drawn
