import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from se_plugin import CocoDataset, ImageNet, Places365
from se_plugin.testing.demo_data import CLASSES, DET_CLASSES, make_coco

LOAD = [dict(type='LoadImageFromFile')]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmpretrain')


def copy_tree(src, tmp_path):
    dst = str(tmp_path / 'data')
    shutil.copytree(src, dst)
    return dst


def test_places365_reads_the_official_layout(demo_root):
    root = osp.join(demo_root, 'places365')
    train = Places365(root, split='train', pipeline=LOAD)
    val = Places365(root, split='val', pipeline=LOAD)
    challenge = Places365(root, split='train', train_list='challenge')
    assert train.CLASSES == tuple(name for name, _, _ in CLASSES)
    assert len(train) == 24 * 4 and len(val) == 8 * 4
    assert len(challenge) == len(train)
    first = train.get_data_info(0)
    assert first['img_path'] == osp.join(root, 'data_256', 's', 'square',
                                         '00000001.jpg')
    assert val.get_data_info(1)['img_path'] == osp.join(
        root, 'val_256', 'Places365_val_00000002.jpg')
    assert val.get_data_info(1)['gt_label'] == 1
    assert train[0]['img'].shape == (64, 64, 3)
    large = Places365(root, split='val', image_size='large', lazy_init=True)
    assert large.img_prefix == osp.join(root, 'val_large')


@pytest.mark.parametrize('kwargs,field', [
    (dict(split='test'), 'split'),
    (dict(train_list='full'), 'train_list'),
    (dict(image_size='512'), 'image_size'),
])
def test_places365_bad_arguments(demo_root, kwargs, field):
    with pytest.raises(ValueError, match=f'^{field} must be one of'):
        Places365(osp.join(demo_root, 'places365'), **kwargs)


@pytest.mark.parametrize('list_name,line,message', [
    ('places365_val.txt', 'Places365_val_00000001.jpg\n', 'expected'),
    ('places365_val.txt', 'Places365_val_00000001.jpg x\n', 'expected'),
    ('places365_val.txt', 'Places365_val_00000001.jpg 9\n', 'not in 0..3'),
    ('categories_places365.txt', '/z/zoo 7\n', 'in order'),
])
def test_places365_malformed_lists_name_file_and_line(demo_root, tmp_path,
                                                      list_name, line,
                                                      message):
    root = copy_tree(osp.join(demo_root, 'places365'), tmp_path)
    path = osp.join(root, list_name)
    with open(path, 'a') as f:
        f.write(line)
    lineno = sum(1 for _ in open(path))
    expected = message if message == 'in order' else f'line {lineno}: .*'
    with pytest.raises(ValueError, match=expected) as err:
        Places365(root, split='val')
    assert path in str(err.value)
    if message != 'in order':
        assert message in str(err.value)


def test_places365_missing_list(demo_root, tmp_path):
    root = copy_tree(osp.join(demo_root, 'places365'), tmp_path)
    os.remove(osp.join(root, 'places365_val.txt'))
    with pytest.raises(FileNotFoundError, match='places365_val.txt'):
        Places365(root, split='val')


def test_imagenet_reads_meta_lists(demo_root):
    root = osp.join(demo_root, 'imagenet')
    ds = ImageNet(data_root=root, split='val', pipeline=LOAD)
    assert len(ds) == 32 and len(ds.CLASSES) == 1000
    assert ds.get_data_info(3)['gt_label'] == 3
    assert ds[3]['img'].shape == (64, 64, 3)


def test_imagenet_malformed_line(demo_root, tmp_path):
    root = copy_tree(osp.join(demo_root, 'imagenet'), tmp_path)
    path = osp.join(root, 'meta', 'train.txt')
    lines = open(path).read().splitlines()
    lines[4] = lines[4].replace(' ', ',')
    open(path, 'w').write('\n'.join(lines))
    with pytest.raises(ValueError, match=r'train.txt, line 5: expected'):
        ImageNet(data_root=root, split='train')


def coco(root, split='val2017', **kwargs):
    init_default_scope('mmdet')
    return CocoDataset(
        data_root=root,
        ann_file=f'annotations/instances_{split}.json',
        data_prefix=dict(img=f'{split}/'),
        metainfo=dict(classes=DET_CLASSES),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True)],
        **kwargs)


def test_coco_demo_boxes_match_the_json(demo_root):
    root = osp.join(demo_root, 'coco')
    ds = coco(root)
    data = json.load(open(osp.join(root, 'annotations',
                                   'instances_val2017.json')))
    assert len(ds) == len(data['images']) == 32
    first = ds[0]
    anns = [a for a in data['annotations'] if a['image_id'] == 1]
    x, y, w, h = anns[0]['bbox']
    assert np.allclose(first['gt_bboxes'].tensor[0].numpy(),
                       [x, y, x + w, y + h])
    assert first['img'].shape == (128, 128, 3)


def test_coco_malformed_json_names_line(tmp_path):
    root = make_coco(str(tmp_path / 'coco'), num_images=(2, 2))
    path = osp.join(root, 'annotations', 'instances_val2017.json')
    text = json.dumps(json.load(open(path)), indent=1)
    lines = text.splitlines()
    lines[5] = lines[5] + ' oops'
    open(path, 'w').write('\n'.join(lines))
    with pytest.raises(ValueError, match=r'instances_val2017.json, line 6'):
        coco(root)


def test_coco_malformed_annotation_names_its_id(tmp_path):
    root = make_coco(str(tmp_path / 'coco'), num_images=(2, 2))
    path = osp.join(root, 'annotations', 'instances_val2017.json')
    data = json.load(open(path))
    data['annotations'][0]['bbox'] = [1, 2, 3]
    bad_id = data['annotations'][0]['id']
    json.dump(data, open(path, 'w'))
    with pytest.raises(ValueError, match=f'annotation id {bad_id} .*bbox'):
        coco(root)


def test_coco_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='instances_val2017.json'):
        coco(str(tmp_path))


def test_demo_data_is_deterministic(tmp_path):
    a = make_coco(str(tmp_path / 'a'), num_images=(3, 1))
    b = make_coco(str(tmp_path / 'b'), num_images=(3, 1))
    for rel in ('annotations/instances_train2017.json',
                'train2017/000000000002.jpg'):
        assert open(osp.join(a, rel), 'rb').read() == open(
            osp.join(b, rel), 'rb').read()
