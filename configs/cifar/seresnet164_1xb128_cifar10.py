# SE-ResNet-164 on CIFAR-10 (Table 4: 5.46 % error plain, 4.39 % with SE):
# pre-activation ResNet-164 [14] with SE on every residual branch, trained with
# its original recipe on 1 GPU x 128 images.
_base_ = [
    '../_base_/models/seresnet110_cifar.py',
    '../_base_/datasets/cifar10_bs128.py',
    '../_base_/schedules/cifar_preact_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(depth=164), head=dict(in_channels=256))
