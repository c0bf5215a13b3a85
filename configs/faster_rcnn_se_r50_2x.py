# Faster R-CNN + FPN with an SE-ResNet-50 trunk on COCO, 2x schedule
# (Table 7). mmdet's own recipe, inherited: 24 epochs, lr steps at 16 and 22,
# lr 0.02 for 16 images (8 GPUs x 2), train2017 -> val2017 (the paper's
# minival protocol).
#   tools/dist_train.sh configs/faster_rcnn_se_r50_2x.py 8
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py',
    './_base_/default_runtime.py',
]

# An ImageNet-trained SE-ResNet-50 classifier checkpoint, e.g. from
# tools/train.py configs/imagenet/seresnet50_8xb32_in1k.py; its
# 'backbone.' keys initialise the trunk.
pretrained = 'work_dirs/seresnet50_8xb32_in1k/epoch_100.pth'
model = dict(
    backbone=dict(
        type='se_plugin.SEResNet',
        depth=50,
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
