# SE-MobileNet ("1.0 MobileNet-224", Table 3): SE after each depthwise-
# separable block, r = 16. The paper's mobile recipe: 8 GPUs x 32 images,
# lr 0.1 /10 on validation-loss plateaus, ~400 epochs, lighter augmentation.
_base_ = [
    '../_base_/datasets/imagenet_bs32_mobile.py',
    '../_base_/schedules/imagenet_mobile_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['se_plugin'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SEMobileNetV1', se_ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

# Resumed runs continue the random streams (augmentation) exactly.
custom_hooks = [dict(type='se_plugin.RNGStateHook')]
