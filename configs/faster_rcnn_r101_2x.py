# Faster R-CNN + FPN, plain ResNet-101 trunk, COCO 2x (Table 7 baseline).
_base_ = './faster_rcnn_r50_2x.py'

# MSRA's original Caffe ResNet-101 (mmdet's
# open-mmlab://detectron2/resnet101_caffe), ImageNet top-1 76.4% (MSRA's
# 1-crop error 23.6%); conventions as faster_rcnn_r50_2x.py.
pretrained = 'open-mmlab://detectron2/resnet101_caffe'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint=pretrained)))
