# SE-VGG-16 (Table 2) with the paper's recipe (seresnet50_8xb128-paper_in1k).
_base_ = [
    '../_base_/models/sevgg16bn.py',
    '../_base_/datasets/imagenet_bs128.py',
    '../_base_/schedules/imagenet_paper_bs1024.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]
