from .hooks import RNGStateHook

__all__ = ['RNGStateHook']
