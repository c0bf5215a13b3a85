"""Bad annotation files fail naming the file, the entry and the reason, or
are dropped on request with the log saying so (se_plugin.datasets)."""
import json
import os.path as osp
import random
import re

import pytest
from mmengine.registry import init_default_scope

from se_plugin import CocoDataset, ImageNet, Places365
from se_plugin.datasets.list_file import read_list_file
from se_plugin.datasets.problems import BadAnnotationError

CLASSES = ('square', 'disc', 'triangle')


def valid_coco() -> dict:
    """Three 32x32 images (the third without annotations), four boxes."""
    return dict(
        images=[dict(id=i, file_name=f'{i:03d}.jpg', width=32, height=32)
                for i in (1, 2, 3)],
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)],
        annotations=[
            dict(id=10, image_id=1, category_id=1, bbox=[1, 2, 10, 8],
                 area=80.0, iscrowd=0),
            dict(id=11, image_id=1, category_id=2, bbox=[12, 12, 6, 6],
                 area=36.0, iscrowd=0),
            dict(id=12, image_id=2, category_id=3, bbox=[0, 0, 32, 32],
                 area=1024.0, iscrowd=0),
            dict(id=13, image_id=2, category_id=1, bbox=[4, 4, 4.5, 4],
                 area=18.0, iscrowd=0),
        ])


def load(tmp_path, data, classes=CLASSES, **kwargs):
    path = tmp_path / 'instances.json'
    path.write_text(json.dumps(data))
    init_default_scope('mmdet')
    # serialize_data=False: mmengine's serialising runs gc.collect(), ~1 s
    # in a process holding torch.
    return CocoDataset(ann_file=str(path), data_prefix=dict(img=''),
                       metainfo=dict(classes=classes), pipeline=[],
                       serialize_data=False, **kwargs), str(path)


def boxes(dataset) -> int:
    return sum(len(dataset.get_data_info(i)['instances'])
               for i in range(len(dataset)))


def test_valid_file_loads_every_box(tmp_path, log):
    ds, path = load(tmp_path, valid_coco())
    assert len(ds) == 3 and boxes(ds) == 4
    assert any(f'{path}: 3 images, 4 annotations checked; images without '
               'annotations (filter_cfg.filter_empty_gt=True drops them from '
               'training, else they are negatives; mmdet): 1' in line
               for line in log)


def edit(data, path, value):
    """Set data[path...] = value, or delete it when value is DELETE."""
    *head, last = path
    for key in head:
        data = data[key]
    if value is DELETE:
        del data[last]
    else:
        data[last] = value


DELETE = object()


@pytest.mark.parametrize('change,kind,where,reason', [
    ((('annotations', 1, 'category_id'), 99), 'unknown category',
     'annotation id 11 (image id 1)', r'category_id 99 is not in categories'),
    ((('annotations', 1, 'image_id'), 42), 'missing image',
     'annotation id 11 (image id 42)', 'image_id 42 is not in images'),
    ((('annotations', 1, 'id'), 10), 'duplicate annotation id',
     'annotation id 10 (image id 1)', 'listed twice; the first is kept'),
    ((('annotations', 1, 'bbox'), [12, 12, -6, 6]), 'non-positive box size',
     'annotation id 11 (image id 1)', 'has width -6 and height 6; both must'),
    ((('annotations', 1, 'bbox'), [12, 12, 6, 0]), 'non-positive box size',
     'annotation id 11 (image id 1)', 'has width 6 and height 0'),
    ((('annotations', 1, 'area'), 0), 'non-positive area',
     'annotation id 11 (image id 1)', 'area must be a number > 0, got 0'),
    ((('annotations', 1, 'bbox'), [30, 12, 6, 6]), 'box outside the image',
     'annotation id 11 (image id 1)',
     r"bbox \[30, 12, 6, 6\] is not inside the 32x32 image \(file '001.jpg'"),
    ((('annotations', 1, 'bbox'), [40, 40, 6, 6]), 'box outside the image',
     'annotation id 11 (image id 1)', 'is not inside the 32x32 image'),
    ((('annotations', 1, 'bbox'), [1, 2, 3]), 'malformed annotation',
     'annotation id 11 (image id 1)', r'bbox must be 4 numbers \[x, y, w,'),
    ((('annotations', 1, 'bbox'), DELETE), 'malformed annotation',
     'annotation id 11 (image id 1)', r"missing field\(s\) \['bbox'\]"),
    ((('images', 1, 'id'), 1), 'duplicate image id', 'image id 1',
     "listed twice \\(files '001.jpg' and '002.jpg'\\); the first is kept"),
    ((('images', 1, 'file_name'), '001.jpg'), 'image listed twice',
     'image id 2', "file '001.jpg' is already image id 1"),
    ((('images', 1, 'height'), -32), 'non-positive image size', 'image id 2',
     'width and height must be positive numbers, got 32x-32'),
    ((('images', 1, 'width'), DELETE), 'malformed image', 'image id 2',
     r"missing field\(s\) \['width'\]"),
    ((('images', 1, 'width'), DELETE), 'annotation of a bad image',
     'annotation id 12 (image id 2)',
     r'image id 2 is dropped above \(malformed image\)'),
])
def test_bad_entry_fails_naming_file_entry_and_reason(tmp_path, change, kind,
                                                      where, reason):
    data = valid_coco()
    edit(data, *change)
    with pytest.raises(BadAnnotationError) as err:
        load(tmp_path, data)
    message = str(err.value)
    first = message.splitlines()[0]
    assert first.startswith(f'{tmp_path / "instances.json"}: ')
    assert f'{kind}: ' in first and 'nothing was loaded' in first
    assert re.search(f'^  {re.escape(where)}: .*{reason}', message, re.M), \
        message


@pytest.mark.parametrize('change,where,reason', [
    ((('categories', 1, 'name'), 'square'), "category name 'square'",
     'used by 2 category ids'),
    ((('categories', 1, 'id'), 1), 'category id 1',
     "listed twice \\('square' and 'disc'\\)"),
])
def test_category_problems_cannot_be_skipped(tmp_path, change, where,
                                             reason):
    data = valid_coco()
    edit(data, *change)
    with pytest.raises(BadAnnotationError,
                       match=f'cannot be dropped(.|\n)*{where}: {reason}'):
        load(tmp_path, data, on_bad_annotation='skip')


def test_config_class_missing_from_the_file_fails(tmp_path):
    """mmdet would map 'hexagon' to no category and shift nothing: a head
    class that never sees a box."""
    with pytest.raises(BadAnnotationError,
                       match="metainfo class 'hexagon': is not a category"):
        load(tmp_path, valid_coco(), classes=CLASSES + ('hexagon', ),
             on_bad_annotation='skip')


def several_problems() -> dict:
    data = valid_coco()
    data['annotations'][0]['category_id'] = 7
    data['annotations'][1]['category_id'] = 8
    data['annotations'][2]['image_id'] = 9
    return data


def test_every_problem_is_listed_and_counted(tmp_path):
    with pytest.raises(BadAnnotationError) as err:
        load(tmp_path, several_problems())
    lines = str(err.value).splitlines()
    assert '3 problems (unknown category: 2, missing image: 1)' in lines[0]
    assert [line.split(':')[0] for line in lines[1:]] == [
        '  annotation id 10 (image id 1)', '  annotation id 11 (image id 1)',
        '  annotation id 12 (image id 9)']
    assert len(err.value.problems) == 3


@pytest.mark.parametrize('policy', ['warn', 'skip'])
def test_drop_policies_drop_and_say_how_many(tmp_path, log, policy):
    ds, path = load(tmp_path, several_problems(), on_bad_annotation=policy)
    assert len(ds) == 3 and boxes(ds) == 1  # only annotation 13 is left
    dropped = [line for line in log if 'dropped' in line]
    assert dropped[0].startswith(
        f'{path}: dropped 3 bad entries (unknown category: 2, missing image: '
        '1)'
        f" (on_bad_annotation='{policy}')")
    listed = 'annotation id 12 (image id 9): image_id 9 is not in images'
    assert (listed in dropped[0]) == (policy == 'warn')
    assert any('images that lost every annotation to the dropped entries: 1'
               in line for line in log)


def test_unknown_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^on_bad_annotation must be one of "
                       r"\('error', 'warn', 'skip'\), got 'ignore'"):
        load(tmp_path, valid_coco(), on_bad_annotation='ignore')


def test_mmdet_rules_stay_and_are_logged(tmp_path, log):
    """Crowd boxes, sub-pixel boxes, class subsets and filter_cfg are
    mmdet's; the log says what each did."""
    data = valid_coco()
    data['annotations'][1]['iscrowd'] = 1
    data['annotations'][3]['bbox'] = [4, 4, 0.5, 4]
    data['images'][2].update(width=16, height=16)
    ds, path = load(tmp_path, data, classes=('square', 'disc'),
                    filter_cfg=dict(filter_empty_gt=True, min_size=20))
    checked = next(line for line in log if 'annotations checked' in line)
    for phrase in ('crowd boxes (iscrowd=1), kept as ignored regions (mmdet '
                   'ignore_flag=1): 1',
                   'boxes under 1 px wide or high, skipped (mmdet): 1',
                   "annotations of categories outside metainfo['classes'], "
                   'skipped (mmdet): 1',
                   'images without annotations (filter_cfg.filter_empty_gt'):
        assert phrase in checked, checked
    # Image 3 (empty, 16 px) goes; image 2 stays, with no box left: mmdet
    # counts its sub-pixel square before dropping it.
    assert any('dropped 1 of 3 images from training' in line for line in log)
    assert [len(ds.get_data_info(i)['instances']) for i in (0, 1)] == [2, 0]
    flags = [i['ignore_flag'] for i in ds.get_data_info(0)['instances']]
    assert flags == [0, 1]  # the square, and the crowd disc ignored


CORRUPTIONS = ('drop a field', 'change an id', 'negate a size')


def corrupt(data: dict, rng: random.Random) -> str:
    """One random corruption of a valid COCO dict; returns what it did."""
    how = rng.choice(CORRUPTIONS)
    section = rng.choice(['images', 'annotations'])
    entry = rng.choice(data[section])
    if how == 'drop a field':
        key = rng.choice(sorted(entry))
        del entry[key]
    elif how == 'change an id':
        key = rng.choice([k for k in ('id', 'image_id', 'category_id')
                          if k in entry])
        entry[key] = rng.choice([0, 1, 2, 3, 4, 10, 11, 12, 13, 99])
    elif section == 'images':
        key = rng.choice(['width', 'height'])
        entry[key] = -entry[key]
    else:
        key = rng.choice(['bbox.w', 'bbox.h', 'area'])
        if key == 'area':
            entry['area'] = -entry['area']
        else:
            entry['bbox'][2 + (key == 'bbox.h')] *= -1
    return f'{how}: {section} {key}'


@pytest.mark.parametrize('seed', range(40))
def test_random_corruptions_never_load_silently(tmp_path, seed):
    """Either the load fails naming the file, or every image and box of
    the corrupted file is in the dataset (the change lost nothing)."""
    data = valid_coco()
    rng = random.Random(seed)
    what = corrupt(data, rng)
    try:
        ds, _ = load(tmp_path, data)
    except ValueError as e:
        assert str(tmp_path / 'instances.json') in str(e), what
        return
    assert len(ds) == len(data['images']), what
    assert boxes(ds) == len(data['annotations']), what


# List-file datasets (ImageNet meta/*.txt, Places365 lists)


def write_list(tmp_path, lines):
    path = tmp_path / 'list.txt'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_list_file_problems_all_listed(tmp_path):
    path = write_list(tmp_path, ['a.jpg 0', 'b.jpg 7', 'a.jpg 1', 'c.jpg',
                                 'd.jpg 2'])
    with pytest.raises(BadAnnotationError) as err:
        read_list_file(path, num_classes=3)
    lines = str(err.value).splitlines()
    assert lines[0].startswith(
        f'{path}: 3 problems (class index out of range: 1, listed twice: 1,'
        ' malformed line: 1)')
    assert lines[1:] == [
        f'  {path}, line 2: class index 7 is not in 0..2',
        f'  {path}, line 3: a.jpg is already on line 1',
        f'  {path}, line 4: expected "<image path> <class index>", got '
        "'c.jpg'"]


def test_list_file_skip_drops_and_logs(tmp_path, log):
    path = write_list(tmp_path, ['a.jpg 0', 'a.jpg 0', 'b.jpg 1'])
    assert read_list_file(path, 3, on_bad_annotation='skip') == [
        ('a.jpg', 0), ('b.jpg', 1)]
    assert log[-1] == (f"{path}: dropped 1 bad entry (listed twice: 1) "
                       "(on_bad_annotation='skip')")


def test_list_file_with_no_usable_line(tmp_path):
    path = write_list(tmp_path, ['a.jpg 9'])
    with pytest.raises(ValueError, match=f'ann_file: {path} has no usable'):
        read_list_file(path, 3, on_bad_annotation='skip')


def test_imagenet_and_places365_take_the_policy(demo_root, tmp_path, log):
    init_default_scope('mmpretrain')
    root = osp.join(demo_root, 'imagenet')
    lines = open(osp.join(root, 'meta', 'val.txt')).read().splitlines()
    ann = write_list(tmp_path, lines + [lines[0]])
    with pytest.raises(BadAnnotationError, match='listed twice: 1'):
        ImageNet(data_root=root, split='val', ann_file=ann)
    ds = ImageNet(data_root=root, split='val', ann_file=ann,
                  on_bad_annotation='warn', serialize_data=False)
    assert len(ds) == len(lines)
    assert f'{ann}, line {len(lines) + 1}: ' in log[-1]
    places = osp.join(demo_root, 'places365')
    with pytest.raises(ValueError, match='^on_bad_annotation must be'):
        Places365(places, split='val', on_bad_annotation='drop')
    assert len(Places365(places, split='val', on_bad_annotation='skip',
                         serialize_data=False)) == 32
