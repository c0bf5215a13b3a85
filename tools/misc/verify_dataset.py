"""Check a config's datasets without training: every annotation entry, then
every image.

    python tools/misc/verify_dataset.py CONFIG [--splits train val test]
        [--workers 8] [--cfg-options k=v ...]

For each distinct dataset of ``{train,val,test}_dataloader``: load it with
the annotation checks of se_plugin's datasets (mmdet's ``CocoDataset`` and
mmpretrain's ``ImageNet`` are checked as se_plugin's, which add only the
checks), list every bad entry, then open every image it names (``filter_cfg``
aside), in parallel
with a progress bar: missing, undecodable, truncated (JPEG without its end
marker) and of another size than the annotation file says. Prints a
summary; the exit status is 1 if anything is wrong, else 0.
"""
import argparse
import copy
import sys
from multiprocessing.pool import ThreadPool
from typing import List, Optional, Tuple

import mmcv
from mmengine.config import Config
from mmengine.fileio import get
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import ProgressBar

import se_plugin
from se_plugin.datasets.problems import BadAnnotationError, summarize
from se_plugin.utils.cli import DictAction, existing_file, positive_int

# Host datasets whose se_plugin subclass adds only the annotation checks.
CHECKED_AS = {
    'mmdet.datasets.coco.CocoDataset': 'se_plugin.CocoDataset',
    'mmpretrain.datasets.imagenet.ImageNet': 'se_plugin.ImageNet',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=existing_file)
    parser.add_argument('--splits', nargs='+', default=['train', 'val',
                                                        'test'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--workers', type=positive_int, default=8,
                        help='threads opening images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def _qualname(cls) -> str:
    return f'{cls.__module__}.{cls.__name__}'


def build(dataset_cfg: dict) -> Tuple[Optional[object], int]:
    """Build the dataset, printing its problems: (dataset or None, number
    of problems)."""
    cfg = copy.deepcopy(dataset_cfg)
    cls = DATASETS.get(cfg['type']) if isinstance(cfg.get('type'),
                                                  str) else cfg.get('type')
    # Every image of the file is checked, also those filter_cfg leaves out.
    if 'filter_cfg' in cfg:
        cfg['filter_cfg'] = None
    if cls is not None and _qualname(cls) in CHECKED_AS:
        cfg['type'] = CHECKED_AS[_qualname(cls)]
        print(f'  (checked as {cfg["type"]})')
    try:
        return DATASETS.build(cfg), 0
    except BadAnnotationError as e:
        print(f'  {e.source}: {summarize(e.problems)}')
        for problem in e.problems:
            print(f'    {problem}')
        problems = e.problems
    except Exception as e:  # missing files, bad arguments: say, go on
        print(f'  cannot load: {type(e).__name__}: {e}')
        return None, 1
    # Go on to the images of the good entries.
    cfg['on_bad_annotation'] = 'skip'
    try:
        dataset = DATASETS.build(cfg)
    except Exception:  # e.g. a problem that cannot be dropped
        dataset = None
    return dataset, len(problems)


def open_image(task: Tuple[str, Optional[tuple], Optional[dict]]
               ) -> Optional[str]:
    """None if the image decodes (at the expected size), else why not."""
    path, expected, backend_args = task
    try:
        data = get(path, backend_args=backend_args)
    except FileNotFoundError:
        return f'{path}: missing'
    except Exception as e:
        return f'{path}: cannot be read ({type(e).__name__}: {e})'
    img = mmcv.imfrombytes(data, flag='unchanged')
    if img is None:
        return f'{path}: not an image OpenCV can decode ({len(data)} bytes)'
    if data[:2] == b'\xff\xd8' and b'\xff\xd9' not in data[-64:]:
        # OpenCV decodes a cut JPEG, grey below the cut, with no error.
        return f'{path}: truncated JPEG (no end-of-image marker)'
    if expected and tuple(img.shape[:2]) != expected:
        return (f'{path}: is {img.shape[0]}x{img.shape[1]} (HxW) but the '
                f'annotation file says {expected[0]}x{expected[1]}')
    return None


def image_tasks(dataset) -> list:
    backend_args = getattr(dataset, 'backend_args', None)
    tasks = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('img_path')
        if path is None or path in tasks:
            continue
        size = (info.get('height'), info.get('width'))
        tasks[path] = (path, size if None not in size else None,
                       backend_args)
    return list(tasks.values())


def check_images(tasks: list, workers: int) -> List[str]:
    """Open every image; the problems, in task order."""
    found = [None] * len(tasks)
    bar = ProgressBar(len(tasks))
    # Threads, not mmengine's track_parallel_progress (processes): reading
    # and cv2 decoding release the GIL, and threads start at once with
    # nothing to pickle.
    with ThreadPool(max(1, workers)) as pool:
        for i, problem in pool.imap_unordered(
                lambda it: (it[0], open_image(it[1])), enumerate(tasks),
                chunksize=16):
            found[i] = problem
            bar.update()
    sys.stdout.write('\n')
    return [p for p in found if p]


def main(argv=None) -> int:
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    seen = {}
    total, summary = 0, []
    for split in args.splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or 'dataset' not in loader:
            continue
        key = repr(loader['dataset'])
        if key in seen:
            summary.append(f'{split}: the same dataset as {seen[key]}')
            continue
        seen[key] = split
        print(f'{split}: {loader["dataset"].get("type")}')
        dataset, bad_entries = build(loader['dataset'])
        bad_images = []
        if dataset is not None:
            tasks = image_tasks(dataset)
            print(f'  opening {len(tasks)} images')
            bad_images = check_images(tasks, args.workers)
            for line in bad_images:
                print(f'    {line}')
        total += bad_entries + len(bad_images)
        summary.append(
            f'{split}: {bad_entries} bad annotation entries, '
            + (f'{len(bad_images)} bad images of {len(tasks)}'
               if dataset is not None else 'images not checked'))
    print('summary:')
    for line in summary:
        print(f'  {line}')
    print(f'verify_dataset: {total} problems' if total else
          'verify_dataset: no problems')
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main())
