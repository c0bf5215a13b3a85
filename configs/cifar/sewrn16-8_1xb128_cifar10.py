# SE-WRN-16-8 on CIFAR-10 (Table 4: 4.27 % error plain, 3.88 % with SE):
# Wide ResNet WRN-16-8 [67] with SE on every residual branch, trained with
# its original recipe on 1 GPU x 128 images.
_base_ = [
    '../_base_/models/sewrn16-8_cifar.py',
    '../_base_/datasets/cifar10_bs128.py',
    '../_base_/schedules/cifar_wrn_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]
