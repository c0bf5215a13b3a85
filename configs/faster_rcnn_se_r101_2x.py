# Faster R-CNN + FPN, SE-ResNet-101 trunk, COCO 2x (Table 7).
_base_ = './faster_rcnn_se_r50_2x.py'

pretrained = 'work_dirs/seresnet101_8xb32_in1k/epoch_100.pth'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint=pretrained)))
