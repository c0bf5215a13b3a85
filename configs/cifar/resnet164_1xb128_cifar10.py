# Plain twin of seresnet164_1xb128_cifar10: every SE stage off (Table 4).
_base_ = './seresnet164_1xb128_cifar10.py'

model = dict(backbone=dict(se_stages=(False, False, False)))
