# Plain twin of seresnet164_1xb128_cifar100: every SE stage off (Table 5).
_base_ = './seresnet164_1xb128_cifar100.py'

model = dict(backbone=dict(se_stages=(False, False, False)))
