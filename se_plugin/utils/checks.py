"""Argument checks whose errors name the field and the allowed values."""
from typing import Optional, Sequence, Tuple

# SELayer options a backbone's ``se_cfg`` may set (ratio comes from
# ``se_ratio``, channels from the backbone).
SE_CFG_KEYS = ('squeeze', 'gate', 'bias', 'divisor', 'fused')


def check_choice(field: str, value, allowed) -> None:
    """Raise a ValueError naming ``field`` and the allowed values."""
    if value not in allowed:
        raise ValueError(
            f'{field} must be one of {tuple(allowed)}, got {value!r}')


def check_se_args(se_ratio: float, se_stages: Optional[Sequence[bool]],
                  num_stages: int, se_cfg: Optional[dict] = None,
                  stage_name: str = 'stage') -> Tuple[Tuple[bool, ...], dict]:
    """Validate the SE arguments every se_plugin backbone takes.

    Returns ``se_stages`` as a tuple (None means every stage) and a copy of
    ``se_cfg``. ``stage_name`` says what a stage is in the error message
    (e.g. ``'conv stage'``, ``'Inception module'``).
    """
    if se_stages is None:
        se_stages = (True, ) * num_stages
    if (not isinstance(se_stages, (list, tuple))
            or len(se_stages) != num_stages
            or not all(isinstance(s, bool) for s in se_stages)):
        raise ValueError(f'se_stages must be {num_stages} bools, one per '
                         f'{stage_name}, got {se_stages!r}')
    if (isinstance(se_ratio, bool) or not isinstance(se_ratio, (int, float))
            or se_ratio <= 0):
        raise ValueError(
            f'se_ratio must be a positive number, got {se_ratio!r}')
    se_cfg = dict(se_cfg or {})
    for key in se_cfg:
        check_choice('se_cfg key', key, SE_CFG_KEYS)
    return tuple(se_stages), se_cfg
