"""COCO detection whose annotation file is checked before mmdet reads it."""
import json
import logging
from typing import List, Optional

from mmdet.datasets import CocoDataset as _CocoDataset
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from se_plugin.registry import DATASETS
from .coco_checks import check_coco
from .problems import check_policy, handle_problems


@DATASETS.register_module()
class CocoDataset(_CocoDataset):
    """mmdet's CocoDataset, with every bad annotation entry reported.

    mmdet (through pycocotools) drops, without a word, annotations of an
    unknown category or a missing image, boxes of non-positive size or
    outside the image, and the second of two images or annotations with
    one id. Here the file is checked first (see
    :mod:`se_plugin.datasets.coco_checks`): by default any such entry fails
    the load, naming the file, each annotation id and the reason, with a
    count per kind. What mmdet skips by its own documented rules (crowd
    boxes as ignored regions, ``filter_cfg`` ``filter_empty_gt`` and
    ``min_size``, class subsets) stays, and the log says how much.

    Args:
        on_bad_annotation: ``'error'`` (default), ``'warn'`` (drop the bad
            entries, log each) or ``'skip'`` (drop them, log the counts).
        *args, **kwargs: mmdet ``CocoDataset`` arguments.

    Example:
        >>> ds = CocoDataset(  # doctest: +SKIP
        ...     data_root='data/coco/',
        ...     ann_file='annotations/instances_train2017.json',
        ...     data_prefix=dict(img='train2017/'),
        ...     on_bad_annotation='skip')
    """

    def __init__(self, *args, on_bad_annotation: str = 'error',
                 **kwargs) -> None:
        check_policy(on_bad_annotation)
        self.on_bad_annotation = on_bad_annotation
        super().__init__(*args, **kwargs)

    def _read_json(self) -> dict:
        try:
            with get_local_path(self.ann_file,
                                backend_args=self.backend_args) as path:
                with open(path, encoding='utf-8') as f:
                    return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{self.ann_file}, line {e.lineno} column '
                             f'{e.colno}: invalid JSON: {e.msg}') from e
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'ann_file: {self.ann_file} does not exist') from e

    def load_data_list(self) -> List[dict]:
        classes: Optional[tuple] = self.metainfo.get('classes')
        problems, data, notes = check_coco(self._read_json(), classes)
        handle_problems(self.ann_file, problems, self.on_bad_annotation)
        coco = self.COCOAPI()
        coco.dataset = data
        coco.createIndex()
        # mmdet's COCO sets these aliases in __init__ only.
        coco.img_ann_map, coco.cat_img_map = coco.imgToAnns, coco.catToImgs
        # mmdet's loader opens ann_file itself; hand it the checked dict
        # instead (an instance attribute shadows the class's COCOAPI).
        self.COCOAPI = lambda *_: coco
        try:
            data_list = super().load_data_list()
        finally:
            del self.COCOAPI
        lines = notes.lines()
        print_log(
            f'{self.ann_file}: {notes.images} images, {notes.annotations} '
            'annotations checked' + ''.join(f'; {s}' for s in lines),
            logger='current',
            level=logging.INFO)
        return data_list

    def filter_data(self) -> List[dict]:
        """mmdet's ``filter_cfg`` filtering, and a log line saying what it
        dropped."""
        kept = super().filter_data()
        if len(kept) < len(self.data_list):
            cfg = self.filter_cfg or {}
            print_log(
                f'{self.ann_file}: filter_cfg={cfg} dropped '
                f'{len(self.data_list) - len(kept)} of {len(self.data_list)} '
                'images from training (mmdet: images without annotations '
                'of the classes with filter_empty_gt=True, images with a side '
                f'under min_size={cfg.get("min_size", 0)} px)',
                logger='current',
                level=logging.INFO)
        return kept
