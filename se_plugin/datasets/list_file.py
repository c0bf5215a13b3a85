"""Reading "<image> <class index>" list files with errors that name the
file and line (ImageNet's meta/*.txt, Places365's lists)."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

from .problems import Problem, handle_problems


def read_list_file(path: str,
                   num_classes: Optional[int] = None,
                   field: str = 'ann_file',
                   on_bad_annotation: str = 'error') -> List[Tuple[str, int]]:
    """Parse a list of ``<image path> <class index>`` lines.

    Every line is checked before anything is returned: a malformed line, a
    class index outside ``[0, num_classes)`` and a path listed twice are
    problems, handled by ``on_bad_annotation`` (see
    :mod:`se_plugin.datasets.problems`). Whether each image exists is left
    to ``tools/misc/verify_dataset.py`` (a stat per image is slow on the
    network file systems that hold ImageNet).

    Args:
        path: The list file.
        num_classes: If given, every index must lie in ``[0, num_classes)``.
        field: The config field the path came from, for error messages.
        on_bad_annotation: ``'error'`` (default), ``'warn'`` or ``'skip'``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        BadAnnotationError: (a ValueError) the file has bad lines; the
            message names the file and each line number.
        ValueError: No usable line is left.

    Example:
        >>> path = 'data/imagenet/meta/val.txt'
        >>> read_list_file(path, 1000)[:1]  # doctest: +SKIP
        [('ILSVRC2012_val_00000001.JPEG', 65)]
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{field}: list file {path} does not exist')
    samples, problems = [], []
    first_line: Dict[str, int] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f'{path}, line {lineno}'
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                problems.append(Problem(
                    'malformed line', where, 'expected "<image path> <class '
                    f'index>", got {line.rstrip()!r}'))
                continue
            label = int(parts[1])
            if num_classes is not None and label >= num_classes:
                problems.append(Problem(
                    'class index out of range', where,
                    f'class index {label} is not in 0..{num_classes - 1}'))
            elif parts[0] in first_line:
                problems.append(Problem(
                    'listed twice', where,
                    f'{parts[0]} is already on line {first_line[parts[0]]}'))
            else:
                first_line[parts[0]] = lineno
                samples.append((parts[0], label))
    handle_problems(path, problems, on_bad_annotation)
    if not samples:
        raise ValueError(f'{field}: {path} has no usable "<image path> '
                         '<class index>" lines')
    return samples
