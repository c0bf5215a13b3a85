"""Checks of a COCO annotation dict that pycocotools and mmdet skip.

pycocotools indexes by id: a second image or annotation with the same id
overwrites the first, and an annotation whose image is not listed is never
read. mmdet's ``CocoDataset.parse_data_info`` then drops, without a word,
boxes of an unknown category, of non-positive size or area, or outside the
image. :func:`check_coco` finds all of these before mmdet reads the file,
and returns the dict with the bad entries removed (used only when the user
chooses to drop them).

What stays as mmdet does it (and is counted in :class:`CocoNotes` for the
log): crowd boxes (``iscrowd=1``: kept as ignored regions), entries marked
``ignore``, boxes under 1 px wide or high (0 < w < 1), annotations of file
categories left out of the config's ``metainfo['classes']`` (class subsets),
and images without annotations (dropped from training by
``filter_cfg=dict(filter_empty_gt=True)``, otherwise trained as
negatives). An image without annotations is not a problem: COCO has them
on purpose (1,021 in train2017).
"""
import numbers
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .problems import Problem

# COCO boxes are floats rounded from polygons: a box may overhang its image
# by a fraction of a pixel. More than this is a wrong box or a wrong size.
BOX_TOLERANCE = 1.0
IMAGE_FIELDS = ('id', 'file_name', 'width', 'height')
ANN_FIELDS = ('id', 'image_id', 'category_id', 'bbox', 'area')


@dataclass
class CocoNotes:
    """What the checks saw that mmdet handles by its own rules."""
    images: int = 0
    annotations: int = 0
    crowd: int = 0
    ignored: int = 0
    tiny: int = 0
    other_classes: int = 0
    empty_images: int = 0
    extra: List[str] = field(default_factory=list)

    def lines(self) -> List[str]:
        """One phrase per non-zero count, saying what mmdet does."""
        said = [
            (self.crowd, 'crowd boxes (iscrowd=1), kept as ignored regions '
             '(mmdet ignore_flag=1)'),
            (self.ignored, "annotations marked 'ignore', skipped (mmdet)"),
            (self.tiny, 'boxes under 1 px wide or high, skipped (mmdet)'),
            (self.other_classes, 'annotations of categories outside '
             "metainfo['classes'], skipped (mmdet)"),
            (self.empty_images, 'images without annotations '
             '(filter_cfg.filter_empty_gt=True drops them from training, '
             'else they are negatives; mmdet)'),
        ]
        return [f'{text}: {n}' for n, text in said if n] + self.extra


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_categories(categories, classes: Optional[Sequence[str]],
                      problems: List[Problem]) -> Dict[int, str]:
    """Category id -> name; every problem here is fatal (labels shift)."""
    if not isinstance(categories, list):
        problems.append(Problem(
            'malformed file', 'categories',
            f'must be a list of dict(id=, name=), got {categories!r:.80}',
            fatal=True))
        return {}
    names: Dict[int, str] = {}
    for cat in categories:
        if (not isinstance(cat, dict) or not _is_int(cat.get('id'))
                or not isinstance(cat.get('name'), str)):
            problems.append(Problem(
                'malformed category', f'category {cat!r:.80}',
                'needs an int id and a str name', fatal=True))
        elif cat['id'] in names:
            problems.append(Problem(
                'duplicate category id', f'category id {cat["id"]}',
                f'listed twice ({names[cat["id"]]!r} and {cat["name"]!r})',
                fatal=True))
        else:
            names[cat['id']] = cat['name']
    for name, n in Counter(names.values()).items():
        if n > 1:
            problems.append(Problem(
                'duplicate category name', f'category name {name!r}',
                f'used by {n} category ids; mmdet maps classes by name',
                fatal=True))
    for name in classes or ():
        if name not in names.values():
            problems.append(Problem(
                'class not in categories', f"metainfo class {name!r}",
                'is not a category name of the file (it has '
                f'{sorted(names.values())[:10]}); the dataset config\'s '
                "metainfo=dict(classes=...) must use the file's names",
                fatal=True))
    return names


def _check_images(images, problems: List[Problem]
                  ) -> Tuple[Dict[int, dict], Dict[int, str]]:
    """(image id -> image of the well-formed, first-listed images,
    image id -> problem kind of the other images with an int id)."""
    kept: Dict[int, dict] = {}
    rejected: Dict[int, str] = {}
    if not isinstance(images, list):
        problems.append(Problem(
            'malformed file', 'images', f'must be a list, got {images!r:.80}',
            fatal=True))
        return kept, rejected
    files: Dict[str, int] = {}
    for img in images:
        where = (f'image id {img.get("id")!r}' if isinstance(img, dict)
                 else f'image {img!r:.80}')
        missing = [k for k in IMAGE_FIELDS
                   if not isinstance(img, dict) or k not in img]
        if missing:
            problem = Problem('malformed image', where,
                              f'missing field(s) {missing}')
        elif not _is_int(img['id']) or not isinstance(img['file_name'], str):
            problem = Problem('malformed image', where,
                              'id must be an int and file_name a str')
        else:
            problem = _image_problem(img, where, kept, files)
        if problem:
            problems.append(problem)
            if (isinstance(img, dict) and _is_int(img.get('id'))
                    and img['id'] not in kept):
                rejected[img['id']] = problem.kind
        else:
            kept[img['id']] = img
            files[img['file_name']] = img['id']
    return kept, rejected


def _image_problem(img: dict, where: str, kept: Dict[int, dict],
                   files: Dict[str, int]) -> Optional[Problem]:
    """The problem of a well-formed image entry, or None."""
    if not (_is_number(img['width']) and _is_number(img['height'])
            and img['width'] > 0 and img['height'] > 0):
        return Problem(
            'non-positive image size', where,
            f'width and height must be positive numbers, got '
            f'{img["width"]!r}x{img["height"]!r}')
    if img['id'] in kept:
        return Problem(
            'duplicate image id', where,
            f'listed twice (files {kept[img["id"]]["file_name"]!r} and '
            f'{img["file_name"]!r}); the first is kept')
    if img['file_name'] in files:
        return Problem(
            'image listed twice', where,
            f'file {img["file_name"]!r} is already image id '
            f'{files[img["file_name"]]}')
    return None


def _box_problem(ann: dict, img: dict) -> Optional[Tuple[str, str]]:
    """(kind, reason) of a bad box, or None."""
    bbox = ann['bbox']
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(_is_number(v) for v in bbox)):
        return 'malformed annotation', (
            f'bbox must be 4 numbers [x, y, w, h], got {bbox!r:.80}')
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        return 'non-positive box size', (
            f'bbox {bbox} has width {w} and height {h}; both must be > 0')
    if not _is_number(ann['area']) or ann['area'] <= 0:
        return 'non-positive area', (
            f'area must be a number > 0, got {ann["area"]!r}')
    width, height = img['width'], img['height']
    if (x < -BOX_TOLERANCE or y < -BOX_TOLERANCE
            or x + w > width + BOX_TOLERANCE
            or y + h > height + BOX_TOLERANCE):
        return 'box outside the image', (
            f'bbox {bbox} is not inside the {width}x{height} image '
            f'(file {img["file_name"]!r})')
    return None


def check_coco(data: dict, classes: Optional[Sequence[str]] = None
               ) -> Tuple[List[Problem], dict, CocoNotes]:
    """Find every bad entry of a COCO detection annotation dict.

    Args:
        data: The parsed json (``images``, ``annotations``, ``categories``).
        classes: The config's ``metainfo['classes']``; each must be a
            category name of the file.

    Returns:
        (problems, data without the bad entries, notes on what mmdet will
        skip by its own rules). A file without ``annotations`` (e.g.
        ``image_info_test-dev2017.json``) has none to check.

    Example:
        >>> data = dict(images=[dict(id=1, file_name='a.jpg', width=8,
        ...                          height=8)],
        ...             categories=[dict(id=1, name='cat')],
        ...             annotations=[dict(id=1, image_id=2, category_id=1,
        ...                               bbox=[0, 0, 4, 4], area=16)])
        >>> print(check_coco(data)[0][0])
        annotation id 1 (image id 2): image_id 2 is not in images
    """
    problems: List[Problem] = []
    if not isinstance(data, dict):
        problems.append(Problem(
            'malformed file', 'top level',
            f'must be a dict with images, annotations, categories, got '
            f'{type(data).__name__}', fatal=True))
        return problems, data, CocoNotes()
    for key in ('images', 'categories'):
        if key not in data:
            problems.append(Problem('malformed file', 'top level',
                                    f'no {key!r} list', fatal=True))
    names = _check_categories(data.get('categories', []), classes, problems)
    images, rejected = _check_images(data.get('images', []), problems)
    anns = data.get('annotations', [])
    if not isinstance(anns, list):
        problems.append(Problem(
            'malformed file', 'annotations',
            f'must be a list, got {anns!r:.80}', fatal=True))
        anns = []
    notes = CocoNotes(images=len(images))
    kept_anns, ann_ids, annotated, listed = [], set(), set(), set()
    for ann in anns:
        if isinstance(ann, dict) and _is_int(ann.get('image_id')):
            listed.add(ann['image_id'])
        problem = None
        if not isinstance(ann, dict):
            where = f'annotation {ann!r:.80}'
            problem = ('malformed annotation', 'must be a dict')
        else:
            where = (f'annotation id {ann.get("id")!r} '
                     f'(image id {ann.get("image_id")!r})')
            missing = [k for k in ANN_FIELDS if k not in ann]
            if missing:
                problem = ('malformed annotation',
                           f'missing field(s) {missing}')
            elif not _is_int(ann['id']):
                problem = ('malformed annotation',
                           f'id must be an int, got {ann["id"]!r}')
            elif not (_is_int(ann['image_id'])
                      and _is_int(ann['category_id'])):
                problem = ('malformed annotation',
                           'image_id and category_id must be ints')
            elif ann['id'] in ann_ids:
                problem = ('duplicate annotation id',
                           'listed twice; the first is kept')
            elif ann['category_id'] not in names:
                problem = ('unknown category',
                           f'category_id {ann["category_id"]!r} is not in '
                           f'categories (ids {sorted(names)[:10]})')
            elif ann['image_id'] in rejected:
                problem = ('annotation of a bad image',
                           f'image id {ann["image_id"]} is dropped above '
                           f'({rejected[ann["image_id"]]})')
            elif ann['image_id'] not in images:
                problem = ('missing image',
                           f'image_id {ann["image_id"]!r} is not in images')
            else:
                problem = _box_problem(ann, images[ann['image_id']])
        if problem:
            problems.append(Problem(problem[0], where, problem[1]))
            if isinstance(ann, dict) and _is_int(ann.get('id')):
                # A duplicate still claims its id: the first one is kept.
                ann_ids.add(ann['id'])
            continue
        ann_ids.add(ann['id'])
        kept_anns.append(ann)
        annotated.add(ann['image_id'])
        notes.crowd += bool(ann.get('iscrowd', 0))
        notes.ignored += bool(ann.get('ignore', False))
        notes.tiny += ann['bbox'][2] < 1 or ann['bbox'][3] < 1
        notes.other_classes += (classes is not None
                                and names[ann['category_id']] not in classes)
    notes.annotations = len(kept_anns)
    notes.empty_images = sum(1 for i in images if i not in annotated)
    emptied = sum(1 for i in images if i in listed and i not in annotated)
    if emptied:
        notes.extra.append('images that lost every annotation to the '
                           f'dropped entries: {emptied}')
    clean = dict(data, images=list(images.values()), annotations=kept_anns)
    return problems, clean, notes
