# mmpretrain's ResNetV1d-50 ImageNet recipe (deep stem, avg-pool shortcuts)
# with SE after each bottleneck's norm3: SE-ResNetV1d-50 from scratch, the
# paper's sigmoid gate and ratio 16.
#   tools/dist_train.sh configs/add_se/se-resnetv1d50_8xb32_in1k.py 8
_base_ = [
    'mmpretrain::resnet/resnetv1d50_8xb32_in1k.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='se_plugin.AddSE',
        host='ResNetV1d',  # the inherited backbone's type
        ratio=16))
