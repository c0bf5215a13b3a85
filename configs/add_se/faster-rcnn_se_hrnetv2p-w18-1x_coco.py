# mmdet's Faster R-CNN with an HRNetV2p-W18 backbone, SE added to every
# BasicBlock and Bottleneck of HRNet's branches (not its fuse layers or
# transitions). mmdet's recipe and ImageNet weights (open-mmlab://msra/
# hrnetv2_w18) are inherited; only the SE parameters start new, at a scale
# of exactly 1 (identity_init), so step 0 is the plain pretrained network.
#   tools/dist_train.sh configs/add_se/faster-rcnn_se_hrnetv2p-w18-1x_coco.py 8
_base_ = [
    'mmdet::hrnet/faster-rcnn_hrnetv2p-w18-1x_coco.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='se_plugin.AddSE',
        host='HRNet',  # the inherited backbone's type
        ratio=16,
        identity_init=True))
