"""se_plugin from a third OpenMMLab project: mmsegmentation's runner trains
and evaluates FCN segmentors whose backbones come from se_plugin, named
only in the config (``custom_imports`` and ``se_plugin.`` types)."""
import copy
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmseg.registry import MODELS as SEG_MODELS
from mmseg.utils import register_all_modules

from se_plugin import SEResNet

pytestmark = pytest.mark.slow  # trains segmentors

SIZE = 64

# Output stride 8 (dilated last stages, as mmseg's FCN configs): a 8x8 map.
SERESNET = dict(
    type='se_plugin.SEResNet',
    depth=18,
    stem_channels=16,
    base_channels=16,
    se_ratio=4,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    out_indices=(3, ))
RESNETV1C_SE_PLUGIN = dict(
    type='ResNetV1c',  # mmseg's own
    depth=50,
    stem_channels=16,
    base_channels=8,
    strides=(1, 2, 1, 1),
    dilations=(1, 1, 2, 4),
    out_indices=(3, ),
    plugins=[
        dict(
            cfg=dict(type='se_plugin.SELayer', ratio=4),
            stages=(True, True, True, True),
            position='after_conv3')
    ])


def make_segmentation_data(root: str, count: int, seed: int) -> None:
    """Images of bright rectangles on a darker noisy background, and their
    masks (1 inside the rectangle): mmseg's img_dir/ann_dir layout."""
    rng = np.random.default_rng(seed)
    for sub in ('img', 'ann'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for i in range(count):
        img = rng.normal(60, 15, (SIZE, SIZE, 3)).clip(0, 255)
        mask = np.zeros((SIZE, SIZE), np.uint8)
        x, y = rng.integers(0, SIZE // 2, 2)
        w, h = rng.integers(SIZE // 4, SIZE // 2, 2)
        mask[y:y + h, x:x + w] = 1
        img[mask == 1] = rng.normal(200, 15, (int(mask.sum()), 3)).clip(
            0, 255)
        cv2.imwrite(osp.join(root, 'img', f'{i:03d}.png'),
                    img.astype(np.uint8))
        cv2.imwrite(osp.join(root, 'ann', f'{i:03d}.png'), mask)


def segmentor_config(backbone: dict, channels: int, train: str, val: str,
                     work_dir: str, iters: int) -> Config:
    """An mmseg FCN config as a user of another project writes it."""
    dataset = dict(
        type='BaseSegDataset',
        img_suffix='.png',
        seg_map_suffix='.png',
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        metainfo=dict(classes=('background', 'box'),
                      palette=[[0, 0, 0], [255, 255, 255]]),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])
    return Config(
        dict(
            custom_imports=dict(
                imports=['se_plugin'], allow_failed_imports=False),
            default_scope='mmseg',
            work_dir=work_dir,
            randomness=dict(seed=0),
            model=dict(
                type='EncoderDecoder',
                data_preprocessor=dict(
                    type='SegDataPreProcessor',
                    mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375],
                    bgr_to_rgb=True,
                    size=(SIZE, SIZE)),
                backbone=backbone,
                decode_head=dict(
                    type='FCNHead',
                    in_channels=channels,
                    in_index=0,
                    channels=16,
                    num_convs=1,
                    concat_input=False,
                    num_classes=2,
                    norm_cfg=dict(type='BN'),
                    loss_decode=dict(type='CrossEntropyLoss')),
                test_cfg=dict(mode='whole')),
            train_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='InfiniteSampler', shuffle=True),
                dataset=dict(data_root=train, **dataset)),
            val_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(data_root=val, **dataset)),
            val_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
            train_cfg=dict(
                type='IterBasedTrainLoop', max_iters=iters,
                val_interval=iters),
            val_cfg=dict(type='ValLoop'),
            optim_wrapper=dict(
                optimizer=dict(
                    type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=10),
                checkpoint=dict(
                    type='CheckpointHook', by_epoch=False, interval=iters)),
            log_level='WARNING'))


@pytest.fixture(scope='module')
def seg_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg')
    train, val = str(root / 'train'), str(root / 'val')
    make_segmentation_data(train, 16, seed=0)
    make_segmentation_data(val, 4, seed=1)
    return train, val


@pytest.mark.parametrize('backbone, channels, se_count', [
    (SERESNET, 128, 8),  # SE-ResNet-18: 2 basic blocks x 4 stages
    (RESNETV1C_SE_PLUGIN, 256, 16),  # ResNet-50: 3 + 4 + 6 + 3 blocks
], ids=['se_plugin.SEResNet', 'ResNetV1c+se_plugin.SELayer'])
def test_mmseg_runner_trains_and_evaluates(one_thread, seg_data, tmp_path,
                                           backbone, channels, se_count):
    from se_plugin import SELayer

    train, val = seg_data
    cfg = segmentor_config(backbone, channels, train, val, str(tmp_path), 40)
    runner = Runner.from_cfg(cfg)
    layers = [m for m in runner.model.backbone.modules()
              if isinstance(m, SELayer)]
    assert len(layers) == se_count
    before = runner.val()['mIoU']
    runner.train()
    after = runner.val()['mIoU']
    print(f'mIoU before {before:.2f}, after {after:.2f} (40 iterations)')
    assert osp.isfile(osp.join(str(tmp_path), 'iter_40.pth'))
    # mmseg's IoUMetric in %. Predicting one class everywhere scores about
    # 42 (all background: background IoU ~85, box IoU 0) or less; only a
    # model that finds the boxes passes 60.
    assert 0 <= before <= 100
    assert after > 60 and after > before + 10, (before, after)


ZOO = 'mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py'


def zoo_segmentor(tmp_path, model: dict) -> Config:
    """mmseg's PSPNet zoo config (model-level ``pretrained=
    'open-mmlab://resnet50_v1c'``) with a tiny se_plugin backbone."""
    norm = dict(type='BN', requires_grad=True)
    backbone = dict(SERESNET, _delete_=True, stem_channels=8,
                    base_channels=8, out_indices=(0, 1, 2, 3), norm_cfg=norm)
    backbone.update(model.pop('backbone', {}))
    path = tmp_path / 'pspnet_seresnet18.py'
    path.write_text(f'_base_ = {ZOO!r}\n' + 'model = ' + repr(dict(
        backbone=backbone,
        decode_head=dict(in_channels=64, channels=8, norm_cfg=norm),
        auxiliary_head=dict(in_channels=32, channels=8, norm_cfg=norm),
        **model)) + '\n')
    return Config.fromfile(str(path))


def build_segmentor(cfg: Config):
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        # a copy: EncoderDecoder writes pretrained into the backbone's dict
        return SEG_MODELS.build(copy.deepcopy(cfg.model))


def test_zoo_config_pretrained_reaches_the_se_backbone(tmp_path):
    """The zoo's model-level pretrained becomes the SE backbone's
    init_cfg, as for mmseg's ResNetV1c; a file given there loads."""
    cfg = zoo_segmentor(tmp_path, {})
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    with pytest.warns(UserWarning, match='pretrained=.* is deprecated'):
        model = build_segmentor(cfg)
    assert model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
    torch.manual_seed(1)
    donor = SEResNet(**{k: v for k, v in cfg.model.backbone.items()
                        if k != 'type'})
    ckpt = str(tmp_path / 'seresnet18.pth')
    torch.save(donor.state_dict(), ckpt)
    cfg.model.pretrained = ckpt
    with pytest.warns(UserWarning):
        model = build_segmentor(cfg)
    model.init_weights()
    weights = model.backbone.state_dict()
    for key, value in donor.state_dict().items():
        assert torch.equal(weights[key], value), key


def test_zoo_pretrained_beside_a_backbone_init_cfg_names_both(tmp_path):
    cfg = zoo_segmentor(tmp_path, dict(backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='mine.pth'))))
    with pytest.raises(ValueError, match=r"pretrained \('open-mmlab://"
                       r"resnet50_v1c'\) and init_cfg \(.*mine.pth.*\) are "
                       r'both set; keep one: model.pretrained=None'):
        build_segmentor(cfg)
    cfg.model.pretrained = None  # the fix the message names
    assert build_segmentor(cfg).backbone.init_cfg['checkpoint'] == 'mine.pth'
