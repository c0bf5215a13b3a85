# SE-MobileNet ("1.0 MobileNet-224", Table 3). The paper's mobile recipe:
# 8 GPUs x 32 images, lr 0.1 /10 on validation-loss plateaus, ~400 epochs,
# lighter augmentation.
_base_ = [
    '../_base_/models/semobilenet-v1.py',
    '../_base_/datasets/imagenet_bs32_mobile.py',
    '../_base_/schedules/imagenet_mobile_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]
