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

# The paper's released (Caffe) SE-ResNets: stride on the first 1x1 conv and
# Caffe's stem max-pool (ceil mode, no padding; the same 56x56 at 224, so
# the same FLOPs), so timm://legacy_seresnet*.in1k loads into this config.
model = dict(
    backbone=dict(style='caffe', caffe_pool=True, zero_init_residual=False))
