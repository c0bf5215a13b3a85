"""Training memory of a model, measured exactly: the bytes autograd keeps
for backward, and (noisy) the process's peak resident memory."""
import resource
import sys
from typing import Any, Callable, Tuple

import torch


def saved_tensor_bytes(forward: Callable[[], Any]) -> Tuple[int, Any]:
    """Run ``forward()`` and count what autograd saves for backward.

    Every tensor autograd packs (built-in ops and custom functions alike)
    passes ``torch.autograd.graph.saved_tensors_hooks``; each storage
    counts once, whole, however many tensors or views keep it (a ReLU
    output that the next conv keeps too is one buffer). Parameters that
    ops save count as well, as in memory. Deterministic: it depends on the
    graph, not on the allocator, so a model and input on the ``meta``
    device give the same count without computing or allocating anything.

    Args:
        forward: Runs one training forward with autograd on.

    Returns:
        The bytes, and what ``forward`` returned (keep it for backward).

    Example:
        >>> conv = torch.nn.Conv2d(3, 8, 3)
        >>> x = torch.rand(2, 3, 16, 16)
        >>> saved_tensor_bytes(lambda: conv(x).relu())[0]  # x, weight, out
        19552
    """
    storages = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        # Keyed by the storage itself (meta storages all have data_ptr 0),
        # and held, so that no freed one's address is reused within.
        storages[storage._cdata] = storage
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    return sum(s.nbytes() for s in storages.values()), out


def peak_rss_bytes() -> int:
    """The peak resident memory of this process so far (``ru_maxrss``).

    Only rises, and counts everything the process ever held (libraries,
    earlier models): compare runs in fresh processes, and expect noise.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == 'darwin' else peak * 1024
