# SE-ShuffleNet ("ShuffleNet 1x (g=3)", Table 3) with the paper's mobile
# recipe (semobilenet-v1_8xb32-mobile_in1k).
_base_ = [
    '../_base_/models/seshufflenet-v1-1x-g3.py',
    '../_base_/datasets/imagenet_bs32_mobile.py',
    '../_base_/schedules/imagenet_mobile_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]
