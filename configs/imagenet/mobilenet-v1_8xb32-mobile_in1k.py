# Plain twin of semobilenet-v1_8xb32-mobile_in1k: every SE stage off.
_base_ = './semobilenet-v1_8xb32-mobile_in1k.py'

model = dict(backbone=dict(se_stages=(False, ) * 5))
