# mmpretrain's MobileNetV2 ImageNet recipe with SE in every inverted
# residual, after the depthwise conv (as MobileNetV3 and EfficientNet place
# it). Trained from scratch, so SE keeps the paper's sigmoid gate; ratio 4
# as those networks use on the expanded width.
#   tools/dist_train.sh configs/add_se/se-mobilenet-v2_8xb32_in1k.py 8
_base_ = [
    'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='se_plugin.AddSE',
        host='MobileNetV2',  # the inherited backbone's type
        ratio=4))
