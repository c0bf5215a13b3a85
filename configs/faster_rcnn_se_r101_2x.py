# Faster R-CNN + FPN, SE-ResNet-101 trunk, COCO 2x (Table 7).
_base_ = './faster_rcnn_se_r50_2x.py'

# The paper's released SE-ResNet-101 (Caffe; Cadene's port, mirrored by
# timm): ImageNet top-1 78.396% (Cadene; the Caffe release: 78.25%).
# Baseline: faster_rcnn_r101_2x.py, MSRA's Caffe ResNet-101.
pretrained = 'timm://legacy_seresnet101.in1k'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint=pretrained)))
