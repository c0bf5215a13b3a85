# SE-ResNet-110 on CIFAR-100 (Table 5: 26.88 % error plain, 23.85 % with SE):
# pre-activation ResNet-110 [14] with SE on every residual branch, trained with
# its original recipe on 1 GPU x 128 images.
_base_ = [
    '../_base_/models/seresnet110_cifar.py',
    '../_base_/datasets/cifar100_bs128.py',
    '../_base_/schedules/cifar_preact_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))
