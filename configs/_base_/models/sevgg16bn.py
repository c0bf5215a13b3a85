# SE-VGG-16 (Table 2): BN after every conv, SE after each conv's ReLU
# (Section 3.3), r = 16. The backbone keeps VGG's 4096-4096-1000
# classifier, which the paper's 15.48 GFLOPs include, so no neck.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SEVGG', depth=16, num_classes=1000),
    neck=None,
    head=dict(
        type='ClsHead',
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
