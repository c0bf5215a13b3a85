# Plain twin of seshufflenet-v1-1x-g3_8xb32-mobile_in1k: every SE stage off.
_base_ = './seshufflenet-v1-1x-g3_8xb32-mobile_in1k.py'

model = dict(backbone=dict(se_stages=(False, ) * 3))
