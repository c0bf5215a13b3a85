# Faster R-CNN + FPN, plain ResNet-101 trunk, COCO 2x (Table 7 baseline).
# faster_rcnn_r50_2x.py at depth 101; it inherits the SE config, as that one
# does, to keep every chain within two levels of our configs.
_base_ = './faster_rcnn_se_r50_2x.py'

# MSRA's original Caffe ResNet-101 (mmdet's
# open-mmlab://detectron2/resnet101_caffe), ImageNet top-1 76.4% (MSRA's
# 1-crop error 23.6%); conventions as faster_rcnn_r50_2x.py: BGR input
# minus the mean, std 1, no 'backbone.' prefix.
pretrained = 'open-mmlab://detectron2/resnet101_caffe'
model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        depth=101,
        se_stages=(False, False, False, False),
        init_cfg=dict(checkpoint=pretrained, prefix=None)))
