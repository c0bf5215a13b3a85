# SE-ShuffleNet ("ShuffleNet 1x (g=3)", Table 3): SE on each unit's
# residual branch before the add or concat, r = 16; the paper's mobile
# recipe (semobilenet-v1_8xb32-mobile_in1k).
_base_ = './semobilenet-v1_8xb32-mobile_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='se_plugin.SEShuffleNetV1', groups=3,
        se_ratio=16),
    head=dict(in_channels=960))
