# Plain twin of sewrn16-8_1xb128_cifar10: every SE stage off (Table 4).
_base_ = './sewrn16-8_1xb128_cifar10.py'

model = dict(backbone=dict(se_stages=(False, False, False)))
