# Faster R-CNN + FPN, plain ResNet-101 trunk, COCO 2x (Table 7 baseline).
_base_ = './faster_rcnn_se_r50_2x.py'

pretrained = 'work_dirs/resnet101_8xb32_in1k/epoch_100.pth'
model = dict(
    backbone=dict(
        depth=101,
        se_stages=(False, False, False, False),
        init_cfg=dict(checkpoint=pretrained)))
