# SE-BN-Inception (Table 2, Fig. 2): SE on each Inception module's output,
# r = 16.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SEBNInception', se_ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
