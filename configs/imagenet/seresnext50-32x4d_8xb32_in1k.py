_base_ = './seresnet50_8xb32_in1k.py'

model = dict(
    backbone=dict(
        type='se_plugin.SEResNeXt', depth=50, groups=32,
        width_per_group=4))
