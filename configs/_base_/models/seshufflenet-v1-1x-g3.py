# SE-ShuffleNet ("ShuffleNet 1x (g=3)", Table 3): SE on each unit's
# residual branch before the add or concat, r = 16.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SEShuffleNetV1', groups=3, se_ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=960,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
