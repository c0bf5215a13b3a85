# SE-MobileNet ("1.0 MobileNet-224", Table 3): SE after each depthwise-
# separable block, r = 16.
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
