# Plain twin of sewrn16-8_1xb128_cifar100: every SE stage off (Table 5).
_base_ = './sewrn16-8_1xb128_cifar100.py'

model = dict(backbone=dict(se_stages=(False, False, False)))
