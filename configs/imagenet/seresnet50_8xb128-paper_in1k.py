# SE-ResNet-50 with the paper's recipe (Section 5.1): 8 GPUs x 128 = 1024
# images per step, lr 0.6, /10 every 30 epochs, 100 epochs, He init
# (no zero-init of the last BN), r = 16, stride on the first 1x1 conv,
# RandomResizedCrop 224 + flip;
# evaluation: short edge 256, centre crop 224, top-1/top-5.
_base_ = [
    '../_base_/models/seresnet50.py',
    '../_base_/datasets/imagenet_bs128.py',
    '../_base_/schedules/imagenet_paper_bs1024.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

# The paper's released models put the stride on the first 1x1 conv.
model = dict(backbone=dict(style='caffe', zero_init_residual=False))
