"""Argument checks whose errors name the field and the allowed values."""


def check_choice(field: str, value, allowed) -> None:
    """Raise a ValueError naming ``field`` and the allowed values."""
    if value not in allowed:
        raise ValueError(
            f'{field} must be one of {tuple(allowed)}, got {value!r}')


def check_out_indices(out_indices, num_outputs: int) -> tuple:
    """``out_indices`` as a tuple of ints in ``range(num_outputs)``; an int
    stands for one index. Raises a ValueError naming the field otherwise
    (the hosts assert, or silently return nothing for a negative index)."""
    if isinstance(out_indices, int) and not isinstance(out_indices, bool):
        out_indices = (out_indices, )
    allowed = f'ints in range({num_outputs})'
    if not isinstance(out_indices, (list, tuple)) or not out_indices:
        raise ValueError(f'out_indices must be an int or a non-empty '
                         f'sequence of {allowed}, got {out_indices!r}')
    for index in out_indices:
        if (isinstance(index, bool) or not isinstance(index, int)
                or not 0 <= index < num_outputs):
            raise ValueError(f'out_indices must be {allowed}, got '
                             f'{tuple(out_indices)!r} ({index!r} is not)')
    return tuple(out_indices)


def check_frozen_stages(frozen_stages, num_stages: int) -> int:
    """``frozen_stages`` in -1 (none) .. ``num_stages`` (the stem and every
    stage); a ValueError naming the field otherwise."""
    if (isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int)
            or not -1 <= frozen_stages <= num_stages):
        raise ValueError(f'frozen_stages must be an int from -1 (none) to '
                         f'{num_stages} (every stage), got {frozen_stages!r}')
    return frozen_stages
