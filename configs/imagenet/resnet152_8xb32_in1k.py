# Plain twin of seresnet152_8xb32_in1k: every SE stage off.
_base_ = './seresnet50_8xb32_in1k.py'

model = dict(backbone=dict(depth=152, se_stages=(False, False, False, False)))
