from .lean_se import lean_tail, lean_tail_applies
from .se_layer import SE_CFG_KEYS, SELayer, check_se_args, excite_pooled

__all__ = [
    'SE_CFG_KEYS', 'SELayer', 'check_se_args', 'excite_pooled', 'lean_tail',
    'lean_tail_applies'
]
