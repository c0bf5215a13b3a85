"""Reading "<image> <class index>" list files with errors that name the
file and line (ImageNet's meta/*.txt, Places365's lists)."""
import os.path as osp
from typing import List, Optional, Tuple


def read_list_file(path: str,
                   num_classes: Optional[int] = None,
                   field: str = 'ann_file') -> List[Tuple[str, int]]:
    """Parse a list of ``<image path> <class index>`` lines.

    Args:
        path: The list file.
        num_classes: If given, every index must lie in ``[0, num_classes)``.
        field: The config field the path came from, for error messages.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: A line is malformed or its index is out of range; the
            message names the file and the line number.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{field}: list file {path} does not exist')
    samples = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError(
                    f'{path}, line {lineno}: expected "<image path> <class '
                    f'index>", got {line.rstrip()!r}')
            label = int(parts[1])
            if num_classes is not None and label >= num_classes:
                raise ValueError(
                    f'{path}, line {lineno}: class index {label} is not in '
                    f'0..{num_classes - 1}')
            samples.append((parts[0], label))
    return samples
