# Plain twin of seresnet152_8xb32_places365: every SE stage off (Table 6).
_base_ = './seresnet152_8xb32_places365.py'

model = dict(backbone=dict(se_stages=(False, False, False, False)))
