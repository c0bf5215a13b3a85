_base_ = './seresnet50_8xb128-paper_in1k.py'

# The released SE-ResNeXts (like the ResNeXt release) stride in the 3x3 conv.
model = dict(
    backbone=dict(
        type='se_plugin.SEResNeXt', depth=50, groups=32,
        width_per_group=4, style='pytorch'))
