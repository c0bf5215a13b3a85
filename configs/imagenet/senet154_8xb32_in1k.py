# SENet-154 (appendix) on ImageNet-1k: 8 GPUs x 32 images, lr 0.1 for 256,
# dropout 0.2 before the classifier.
_base_ = './seresnet50_8xb32_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='se_plugin.SENet154', out_indices=(3, )),
    head=dict(type='se_plugin.DropoutLinearClsHead', dropout=0.2))
