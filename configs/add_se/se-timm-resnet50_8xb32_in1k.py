# timm's resnet50 through mmpretrain's TIMMBackbone, SE in the se slot timm
# keeps in every Bottleneck (after bn3), trained on mmpretrain's ResNet-50
# ImageNet recipe (its dataset, schedule and runtime bases). From scratch:
# the paper's sigmoid gate and ratio 16.
#   tools/dist_train.sh configs/add_se/se-timm-resnet50_8xb32_in1k.py 8
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='se_plugin.AddSE',
        host='TIMMBackbone',
        model_name='resnet50',
        ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
