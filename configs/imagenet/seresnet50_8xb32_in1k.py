# SE-ResNet-50 on ImageNet-1k, mmpretrain's 8 x 32 recipe (lr 0.1 for 256
# images, steps at 30/60/90 of 100 epochs), comparable with its model zoo.
_base_ = [
    '../_base_/models/seresnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['se_plugin'], allow_failed_imports=False)
