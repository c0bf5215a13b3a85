# SE-Inception-ResNet-v2 (Table 2): SE on each block's residual branch
# before the sum, r = 16; 299 x 299 inputs.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SEInceptionResNetV2', se_ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1536,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
