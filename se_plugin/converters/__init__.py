"""Weight converters from other model zoos to se_plugin's layout."""
from .senet import SOURCES, ConversionError, convert, load_weights

__all__ = ['ConversionError', 'SOURCES', 'convert', 'load_weights']
