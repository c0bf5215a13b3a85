# SENet-154 (appendix): SE-ResNeXt-152 64x4d with a three-conv stem,
# in -> 2p -> 4p -> 4p bottlenecks, 3x3 stride-2 shortcuts and the Caffe
# stem pool; dropout 0.2 before the classifier.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='se_plugin.SENet154', out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='se_plugin.DropoutLinearClsHead',
        dropout=0.2,
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
