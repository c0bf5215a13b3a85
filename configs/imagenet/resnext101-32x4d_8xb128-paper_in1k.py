# Plain twin of seresnext101-32x4d_8xb128-paper_in1k: every SE stage off.
_base_ = './seresnet50_8xb128-paper_in1k.py'

model = dict(
    backbone=dict(
        type='se_plugin.SEResNeXt', depth=101, groups=32, width_per_group=4,
        style='pytorch', se_stages=(False, False, False, False)))
