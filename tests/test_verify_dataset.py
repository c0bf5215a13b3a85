"""tools/misc/verify_dataset.py: annotation checks and every image opened,
without training."""
import importlib.util
import json
import os
import os.path as osp

import pytest

from se_plugin.testing.demo_data import make_coco

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs/demo/faster_rcnn_se_r50_2x_demo.py')


@pytest.fixture(scope='module')
def verify():
    spec = importlib.util.spec_from_file_location(
        'verify_dataset', osp.join(REPO, 'tools/misc/verify_dataset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def run(verify, root, capsys):
    options = [f'{split}_dataloader.dataset.data_root={root}/'
               for split in ('train', 'val', 'test')]
    code = verify([CONFIG, '--workers', '2', '--cfg-options', *options])
    return code, capsys.readouterr().out


def test_clean_data_passes(verify, tmp_path, capsys):
    root = make_coco(str(tmp_path / 'coco'), num_images=(4, 2), size=64)
    code, out = run(verify, root, capsys)
    assert code == 0, out
    assert 'train: 0 bad annotation entries, 0 bad images of 4' in out
    assert 'test: the same dataset as val' in out
    assert out.rstrip().endswith('verify_dataset: no problems')


def test_every_bad_entry_and_image_is_reported(verify, tmp_path, capsys):
    root = make_coco(str(tmp_path / 'coco'), num_images=(4, 2), size=64)
    ann = osp.join(root, 'annotations', 'instances_train2017.json')
    data = json.load(open(ann))
    data['annotations'][0]['category_id'] = 9
    data['images'][1]['width'] = 65  # the file is 64 wide
    json.dump(data, open(ann, 'w'))
    os.remove(osp.join(root, 'train2017', '000000000003.jpg'))
    cut = osp.join(root, 'train2017', '000000000004.jpg')
    jpeg = open(cut, 'rb').read()
    open(cut, 'wb').write(jpeg[:len(jpeg) // 2])
    open(osp.join(root, 'val2017', '000000000001.jpg'), 'wb').write(b'x')
    code, out = run(verify, root, capsys)
    assert code == 1
    first = data['annotations'][0]
    for line in [
            f'{ann}: 1 problem (unknown category: 1)',
            f'annotation id {first["id"]} (image id {first["image_id"]}): '
            'category_id 9 is not in categories',
            f'{root}/train2017/000000000003.jpg: missing',
            f'{cut}: truncated JPEG (no end-of-image marker)',
            f'{root}/train2017/000000000002.jpg: is 64x64 (HxW) but the '
            'annotation file says 64x65',
            f'{root}/val2017/000000000001.jpg: not an image OpenCV can '
            'decode (1 bytes)',
            'train: 1 bad annotation entries, 3 bad images of 4',
            'val: 0 bad annotation entries, 1 bad images of 2',
            'verify_dataset: 5 problems']:
        assert line in out, out
