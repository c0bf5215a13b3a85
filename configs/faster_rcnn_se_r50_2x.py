# Faster R-CNN + FPN with an SE-ResNet-50 trunk on COCO, 2x schedule
# (Table 7). mmdet's own recipe, inherited: 24 epochs, lr steps at 16 and 22,
# lr 0.02 for 16 images (8 GPUs x 2), train2017 -> val2017 (the paper's
# minival protocol).
#   tools/dist_train.sh configs/faster_rcnn_se_r50_2x.py 8
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py',
    './_base_/default_runtime.py',
]

# ImageNet weights: the paper's released SE-ResNet-50 (the authors' Caffe
# model as ported by Cadene's pretrainedmodels and mirrored by timm),
# ImageNet top-1 77.636% (Cadene's evaluation; the Caffe release reports
# 77.63%). Table 7 like for like: faster_rcnn_r50_2x.py starts from MSRA's
# plain Caffe ResNet-50. The backbone follows these weights: stride on the
# first 1x1 conv (style='caffe'), Caffe's ceil-mode stem pool, RGB input
# with ImageNet mean/std; BN frozen as in Detectron [76] and mmdet's caffe
# recipes. Downloaded once into torch.hub's cache (se_plugin.converters.hub).
pretrained = 'timm://legacy_seresnet50.in1k'
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='se_plugin.SEResNet',
        depth=50,
        style='caffe',
        caffe_pool=True,
        norm_cfg=dict(type='BN', requires_grad=False),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')))

# se_plugin.CocoDataset: mmdet's, with annotation errors naming file and line.
train_dataloader = dict(dataset=dict(type='se_plugin.CocoDataset'))
val_dataloader = dict(dataset=dict(type='se_plugin.CocoDataset'))
test_dataloader = val_dataloader

# lr 0.02 is for 16 images per step (8 GPUs x 2); --auto-scale-lr rescales
# it linearly to (GPUs x batch_size) / 16.
auto_scale_lr = dict(base_batch_size=16)
