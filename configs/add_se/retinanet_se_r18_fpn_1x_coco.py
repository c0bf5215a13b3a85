# mmdet's RetinaNet with a ResNet-18 backbone (BasicBlock, which mmcv's
# plugins= route refuses), SE added after each block's norm2. torchvision's
# ImageNet ResNet-18 weights and mmdet's recipe are inherited; SE starts at
# a scale of exactly 1 (identity_init).
#   tools/dist_train.sh configs/add_se/retinanet_se_r18_fpn_1x_coco.py 8
_base_ = [
    'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='se_plugin.AddSE',
        host='ResNet',  # the inherited backbone's type
        ratio=16,
        identity_init=True))
