from .se_layer import SE_CFG_KEYS, SELayer, check_se_args

__all__ = ['SE_CFG_KEYS', 'SELayer', 'check_se_args']
