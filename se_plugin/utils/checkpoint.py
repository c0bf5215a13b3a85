"""Safe loading of mmengine training checkpoints on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
calls ``torch.load`` without choosing. A weights-only load rebuilds only
tensors, containers and an allowlist of plain data classes, so a file from
outside cannot run code. mmengine's checkpoints carry two things that are not
on torch's list: the message hub's ``HistoryBuffer`` (numpy arrays of logged
scalars) and, inside it, references to its statistics functions, pickled as
``getattr(HistoryBuffer, 'mean')``: a call a weights-only load must refuse.

:func:`allow_mmengine_checkpoints` (run by ``import se_plugin``) makes both
loadable without turning the check off: it allowlists ``HistoryBuffer`` and
the numpy array and scalar reconstructors (data, no code), and it stops
``HistoryBuffer`` pickling function references. Resuming se_plugin's own
checkpoints then works, and every other file still loads weights-only.
"""
import numpy as np
import torch

try:
    from numpy._core import multiarray  # numpy >= 2 (a shim on 1.26)
except ImportError:
    from numpy.core import multiarray

from mmengine.logging import HistoryBuffer


def _history_buffer_state(self) -> dict:
    # mmengine pickles ``_statistics_methods`` (functions) with the data.
    # They are class-level registrations that the code re-creates on import,
    # so the checkpoint needs only the data; ``__setstate__`` tolerates the
    # missing key.
    return {
        k: v
        for k, v in self.__dict__.items() if k != 'statistics_methods'
    }


def _numpy_globals() -> list:
    reconstruct = multiarray._reconstruct
    scalar = multiarray.scalar
    found = [reconstruct, scalar, np.ndarray, np.dtype]
    # Pickles name these by the module they were written under:
    # numpy.core (numpy 1.x) or numpy._core (numpy 2.x).
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found += [(reconstruct, f'{module}._reconstruct'),
                  (scalar, f'{module}.scalar')]
    # numpy 1.25+ dtype classes (e.g. UInt32DType of numpy's RNG state).
    found += [
        type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.float16, np.float32,
                                    np.float64)
    ]
    return found


def allow_mmengine_checkpoints() -> None:
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints."""
    HistoryBuffer.__getstate__ = _history_buffer_state
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals([HistoryBuffer] +
                                             _numpy_globals())
