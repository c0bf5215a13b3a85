# Faster R-CNN + FPN, plain ResNet-50 trunk (the SE trunk's twin), COCO 2x,
# the baseline of Table 7.
_base_ = './faster_rcnn_se_r50_2x.py'

# Like for like with the SE trunk's Caffe release: MSRA's original Caffe
# ResNet-50 (as detectron2 converted it; mmdet's
# open-mmlab://detectron2/resnet50_caffe), ImageNet top-1 75.3% (MSRA's
# 1-crop error 24.7%). Its conventions, as mmdet's
# faster-rcnn_r50-caffe_fpn configs: stride on the first 1x1 conv
# (style='caffe', inherited), BGR input minus the mean, std 1; a backbone
# checkpoint with no 'backbone.' prefix. The stem pool stays the SE twin's
# Caffe pool, the one both releases were trained with (mmdet's caffe
# configs pad it instead: the same sizes, windows shifted by one pixel).
pretrained = 'open-mmlab://detectron2/resnet50_caffe'
model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        se_stages=(False, False, False, False),
        init_cfg=dict(checkpoint=pretrained, prefix=None)))
