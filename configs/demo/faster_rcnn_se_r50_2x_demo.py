# The README's demo: configs/faster_rcnn_se_r50_2x.py on the embedded
# COCO-format shapes (tools/misc/make_demo_data.py), shrunk to train in a few
# minutes on 2 CPU cores: 128x128 images, a quarter-width SE-ResNet-50 from
# scratch (no ImageNet checkpoint here, so nothing is frozen and BN learns;
# the ImageNet weights' Caffe conventions give way to mmdet's defaults),
# slimmer heads, a short schedule. Everything else is the real config.
_base_ = '../faster_rcnn_se_r50_2x.py'

data_root = 'data/demo/coco/'
metainfo = dict(classes=('square', 'disc', 'triangle'))
width = 16  # SE-ResNet-50 at base_channels=16: stage outputs 64..512
max_epochs = 12

model = dict(
    backbone=dict(
        base_channels=width,
        stem_channels=width,
        frozen_stages=-1,
        norm_eval=False,
        norm_cfg=dict(type='BN', requires_grad=True),
        style='pytorch',
        caffe_pool=False,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm'])
        ]),
    neck=dict(in_channels=[width * 4 * 2**i for i in range(4)],
              out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=3)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[9], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=2),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))

# A fixed seed (the figure still varies a little between runs: demo/README.md).
randomness = dict(seed=0)
