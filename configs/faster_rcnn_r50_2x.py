# Faster R-CNN + FPN, plain ResNet-50 trunk (the SE trunk's twin), COCO 2x,
# the baseline of Table 7.
_base_ = './faster_rcnn_se_r50_2x.py'

pretrained = 'work_dirs/resnet50_8xb32_in1k/epoch_100.pth'
model = dict(
    backbone=dict(
        se_stages=(False, False, False, False),
        init_cfg=dict(checkpoint=pretrained)))
