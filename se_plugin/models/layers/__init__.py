from .se_layer import SELayer

__all__ = ['SELayer']
