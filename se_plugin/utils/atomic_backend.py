"""Atomic checkpoint files on a local disk, through mmengine's file backends.

mmengine's ``save_checkpoint`` serialises a checkpoint to bytes and hands
them to ``get_file_backend(filename, backend_args).put``; ``LocalBackend``
then writes the final path in place, so a process killed during a save (a
preempted Slurm job, an elastic restart) leaves a truncated file under the
checkpoint's name. ``CheckpointHook`` also removes the oldest checkpoint
*before* it writes the next one, so with ``max_keep_ckpts=1`` a kill during
the save leaves no checkpoint at all. :class:`AtomicLocalBackend` fixes both
without patching mmengine: select it with
``default_hooks.checkpoint.backend_args=dict(backend='se_plugin_atomic')``
(``tools/train.py`` does so for local work dirs).
"""
import glob
import os
import os.path as osp
from pathlib import Path
from typing import List, Union

from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend, backends

BACKEND_NAME = 'se_plugin_atomic'


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that it is either the old file or
    the whole new one, whatever kills the process.

    The bytes go to a hidden temporary file in the same folder (so the
    rename stays on one file system), are flushed to disk, and replace
    ``filepath`` with ``os.replace``, which POSIX makes atomic; the folder
    is synced so the rename itself survives a crash. Temporary files of
    the same target that killed writers left behind are then removed.

    Args:
        data (bytes): The file's whole content.
        filepath (str or Path): Where it goes; missing folders are made.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    prefix = osp.join(folder, f'.{osp.basename(filepath)}.tmp-')
    tmp = f'{prefix}{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for stale in glob.glob(glob.escape(prefix) + '*'):
        os.remove(stale)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose writes are atomic and whose removals
    wait for the next complete write.

    ``put``/``put_text`` write through :func:`atomic_write`. ``remove``
    only marks the file; it is deleted after the next ``put`` has
    completed, so the checkpoint ``CheckpointHook`` rotates out stays
    loadable until its successor is whole on disk. Everything else
    (reads, listing, ``rmtree``) is ``LocalBackend``'s.

    Example:
        >>> from mmengine.fileio import get_file_backend
        >>> backend = get_file_backend(
        ...     backend_args=dict(backend='se_plugin_atomic'))
        >>> backend.put(b'weights', '/tmp/work/epoch_1.pth')
        >>> backend.remove('/tmp/work/epoch_1.pth')  # still there
        >>> backend.put(b'weights', '/tmp/work/epoch_2.pth')  # now gone
    """

    # Class-wide: CheckpointHook removes through its own backend instance,
    # while save_checkpoint writes through a fresh one per save.
    _pending_removals: List[str] = []

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically, then delete the files
        whose removal was requested before.

        Args:
            obj (bytes): Data to be written.
            filepath (str or Path): Path to write data.
        """
        atomic_write(obj, filepath)
        self._remove_pending(keep=str(filepath))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically.

        Args:
            obj (str): Text to be written.
            filepath (str or Path): Path to write data.
            encoding (str): The text encoding. Defaults to 'utf-8'.
        """
        atomic_write(obj.encode(encoding), filepath)

    def remove(self, filepath: Union[str, Path]) -> None:
        """Delete ``filepath`` once the next ``put`` has completed.

        Args:
            filepath (str or Path): The file to delete.
        """
        if not self.isfile(filepath):
            # LocalBackend's checks and error for folders and missing files
            super().remove(filepath)
        self._pending_removals.append(str(filepath))

    @classmethod
    def _remove_pending(cls, keep: str) -> None:
        while cls._pending_removals:
            path = cls._pending_removals.pop(0)
            if osp.abspath(path) != osp.abspath(keep) and osp.isfile(path):
                os.remove(path)


def register_atomic_backend() -> None:
    """Register :class:`AtomicLocalBackend` with mmengine's file backends as
    ``'se_plugin_atomic'`` (a new name; mmengine's ``'local'`` backend is
    left as it is). Safe to call more than once."""
    if backends.get(BACKEND_NAME) is not AtomicLocalBackend:
        register_backend(BACKEND_NAME, AtomicLocalBackend)
