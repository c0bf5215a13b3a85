"""Load prediction dumps (``tools/test.py --out FILE.pkl``) without running
code from the file.

mmengine's ``DumpResults`` writes a plain pickle of data-sample dicts, and
``mmengine.load`` reads it with ``pickle.load``, which calls whatever the
file names. Here only data is rebuilt: containers, tensors (through
``torch.load(weights_only=True)`` of their storage bytes), numpy arrays and
scalars; any other global fails naming it.
"""
import collections
import io
import pickle
from typing import Any

import numpy as np
import torch


def _storage_from_bytes(data: bytes):
    # A tensor's storage is pickled as torch.save bytes; the default
    # torch.storage._load_from_bytes loads them with weights_only=False.
    return torch.load(io.BytesIO(data), weights_only=True)


def _latin1_bytes(text: str, encoding: str = 'latin1') -> bytes:
    # Pickle protocol 2 (mmengine's dump) writes bytes as
    # _codecs.encode(text, 'latin1'); nothing but that call is allowed.
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(
            f'_codecs.encode with {encoding!r} is not a bytes literal')
    return text.encode('latin1')


def _numpy_globals() -> dict:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    found = {}
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found[(module, '_reconstruct')] = multiarray._reconstruct
        found[(module, 'scalar')] = multiarray.scalar
    found[('numpy', 'ndarray')] = np.ndarray
    found[('numpy', 'dtype')] = np.dtype
    return found


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
    ('_codecs', 'encode'): _latin1_bytes,
    ('builtins', 'bytearray'): bytearray,
    ('builtins', 'slice'): slice,
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('builtins', 'complex'): complex,
    **_numpy_globals(),
}


class _DataUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == 'numpy.dtypes':  # dtype classes, e.g. Float32DType
            cls = getattr(np.dtypes, name, None)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                return cls
        raise pickle.UnpicklingError(
            f'{module}.{name} is not data: a predictions file holds '
            'containers, tensors and numpy arrays only')


def load_pickle(path: str) -> Any:
    """Read a pickle of data (e.g. ``tools/test.py --out`` predictions)
    without calling code it names; raises UnpicklingError naming the file
    and the refused global otherwise."""
    with open(path, 'rb') as f:
        try:
            return _DataUnpickler(f).load()
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(f'{path}: {e}') from None
