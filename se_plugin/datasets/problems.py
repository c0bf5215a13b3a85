"""What a dataset does with bad annotation entries: fail (default), or
drop them and say so (``on_bad_annotation``).

Every check of an annotation file yields :class:`Problem` s; then
:func:`handle_problems` either raises one error that lists them with a
count per kind, or logs how many entries were dropped and why.

- ``'error'`` (default): raise :class:`BadAnnotationError`, naming the
  file, each bad entry (annotation id, image id or line) and the reason,
  with a count of every kind of problem found (not only the first).
- ``'warn'``: drop the bad entries and log a warning with the counts and
  one line per dropped entry.
- ``'skip'``: drop the bad entries and log one warning line with the
  counts only.

Problems that change what every label means (e.g. a class of the config
missing from the file's categories) cannot be dropped: they always raise.
"""
import logging
from collections import Counter
from typing import List, NamedTuple, Sequence, Tuple

from mmengine.logging import print_log

from se_plugin.utils.checks import check_choice

ON_BAD_ANNOTATION = ('error', 'warn', 'skip')
MAX_LISTED = 20  # in an error message; verify_dataset.py lists them all


class Problem(NamedTuple):
    """One bad entry of an annotation file.

    Args:
        kind: Short name of the problem, counted in the summary
            (e.g. ``'unknown category'``).
        where: The entry: ``'annotation id 7 (image id 2)'``,
            ``'line 12'``, ...
        reason: What is wrong and what is allowed.
        fatal: True if dropping the entry cannot fix the file.
    """
    kind: str
    where: str
    reason: str
    fatal: bool = False

    def __str__(self) -> str:
        return f'{self.where}: {self.reason}'


class BadAnnotationError(ValueError):
    """An annotation file with bad entries; ``problems`` lists them all."""

    def __init__(self, message: str, source: str,
                 problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.source = source
        self.problems = list(problems)


def summarize(problems: Sequence[Problem],
              nouns: Tuple[str, str] = ('problem', 'problems')) -> str:
    """``'3 problems (unknown category: 2, missing image: 1)'``."""
    counts = Counter(p.kind for p in problems)
    kinds = ', '.join(f'{kind}: {n}' for kind, n in counts.most_common())
    return f'{len(problems)} {nouns[len(problems) != 1]} ({kinds})'


def _listing(problems: Sequence[Problem], limit: int) -> List[str]:
    lines = [f'  {p}' for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f'  ... and {len(problems) - limit} more '
                     '(tools/misc/verify_dataset.py CONFIG lists all)')
    return lines


def check_policy(on_bad_annotation: str) -> None:
    """Raise a ValueError unless the policy is one of
    :data:`ON_BAD_ANNOTATION`."""
    check_choice('on_bad_annotation', on_bad_annotation, ON_BAD_ANNOTATION)


def handle_problems(source: str, problems: Sequence[Problem],
                    on_bad_annotation: str = 'error') -> None:
    """Raise or log the problems found in ``source``.

    Args:
        source: The annotation file.
        problems: Everything its checks found.
        on_bad_annotation: ``'error'``, ``'warn'`` or ``'skip'`` (see the
            module docstring); the caller drops the entries when this
            returns.

    Raises:
        BadAnnotationError: With ``'error'``, or with any fatal problem.
    """
    check_policy(on_bad_annotation)
    if not problems:
        return
    fatal = [p for p in problems if p.fatal]
    if on_bad_annotation == 'error' or fatal:
        shown = problems if on_bad_annotation == 'error' else fatal
        if on_bad_annotation == 'error':
            advice = ("nothing was loaded. Fix the file, or drop the bad "
                      "entries with on_bad_annotation='warn' (lists them) "
                      "or 'skip' (counts only) in the dataset config:")
        else:
            advice = 'these cannot be dropped, fix the file:'
        raise BadAnnotationError(
            '\n'.join([f'{source}: {summarize(shown)}; {advice}'] +
                      _listing(shown, MAX_LISTED)), source, shown)
    head = (f'{source}: dropped '
            f'{summarize(problems, ("bad entry", "bad entries"))} '
            f"(on_bad_annotation={on_bad_annotation!r})")
    if on_bad_annotation == 'warn':
        head = '\n'.join([head] + _listing(problems, len(problems)))
    print_log(head, logger='current', level=logging.WARNING)
