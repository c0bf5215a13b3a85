"""Argument checks whose errors name the field and the allowed values."""


def check_choice(field: str, value, allowed) -> None:
    """Raise a ValueError naming ``field`` and the allowed values."""
    if value not in allowed:
        raise ValueError(
            f'{field} must be one of {tuple(allowed)}, got {value!r}')
