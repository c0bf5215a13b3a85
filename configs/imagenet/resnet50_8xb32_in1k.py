# Plain twin of seresnet50_8xb32_in1k: every SE stage off.
_base_ = './seresnet50_8xb32_in1k.py'

model = dict(backbone=dict(se_stages=(False, False, False, False)))
