"""End to end through tools/: train, evaluate, reload, resume, for each task
family, on the generated demo data (CPU). The distributed launchers are
tested in test_launch.py."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # trains in subprocesses

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

IMAGENET = 'configs/demo/seresnet50_8xb32_in1k_demo.py'
PLACES = 'configs/demo/seresnet50_8xb32_places365_demo.py'
COCO = 'configs/demo/faster_rcnn_se_r50_2x_demo.py'


def run(*cmd, env=None):
    proc = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def data_options(config, demo_root):
    sub = {IMAGENET: 'imagenet', PLACES: 'places365', COCO: 'coco'}[config]
    root = osp.join(demo_root, sub)
    options = [f'{split}_dataloader.dataset.data_root={root}'
               for split in ('train', 'val', 'test')]
    if config == COCO:
        ann = osp.join(root, 'annotations', 'instances_val2017.json')
        options += [f'val_evaluator.ann_file={ann}',
                    f'test_evaluator.ann_file={ann}']
    return options + ['randomness.seed=0', 'default_hooks.logger.interval=1']


def train(config, work_dir, demo_root, *options, resume=None):
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir',
           str(work_dir)]
    if resume:
        cmd += ['--resume', resume]
    return run(*cmd, '--cfg-options', *data_options(config, demo_root),
               *options)


def evaluate(config, ckpt, demo_root, out):
    run(sys.executable, 'tools/test.py', config, str(ckpt), '--work-dir',
        str(out.parent), '--out-metrics', str(out), '--cfg-options',
        *data_options(config, demo_root))
    return json.load(open(out))


def logged(work_dir):
    """Every scalar line the runner logged, across runs in work_dir."""
    rows = []
    for path in sorted(glob.glob(f'{work_dir}/*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in open(path)]
    return rows


@pytest.mark.parametrize('config,metric', [
    (IMAGENET, 'accuracy/top1'),
    (PLACES, 'accuracy/top1'),
    (COCO, 'coco/bbox_mAP'),
])
def test_train_evaluate_and_reload(config, metric, demo_root, tmp_path):
    options = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    if config == COCO:
        options += ['train_dataloader.dataset.indices=32',
                    'param_scheduler.1.end=1']
    train(config, tmp_path / 'w', demo_root, *options)
    val = [r for r in logged(tmp_path / 'w') if metric in r][-1]
    reloaded = evaluate(config, tmp_path / 'w' / 'epoch_1.pth',
                        demo_root, tmp_path / 't' / 'metrics.json')
    assert reloaded[metric] == val[metric]
    if metric.startswith('accuracy'):
        assert 0 <= val[metric] <= 100 and 'accuracy/top2' in reloaded
    else:
        assert 0 <= val[metric] <= 1 and 'coco/bbox_mAP_50' in reloaded


def test_resume_logs_the_same_losses(demo_root, tmp_path):
    # Validation after every epoch, as the shipped configs do, and a head
    # with dropout (SENet-154's), so that training draws from torch's
    # generator, which validation's data loader also draws from.
    common = ['train_cfg.val_interval=1',
              'model.head.type=se_plugin.DropoutLinearClsHead',
              'model.head.dropout=0.5']
    train(IMAGENET, tmp_path / 'full', demo_root, 'train_cfg.max_epochs=2',
          *common)
    train(IMAGENET, tmp_path / 'cut', demo_root, 'train_cfg.max_epochs=1',
          *common)
    out = train(IMAGENET, tmp_path / 'cut', demo_root,
                'train_cfg.max_epochs=2', *common,
                resume=str(tmp_path / 'cut' / 'epoch_1.pth'))
    assert 'resumed epoch: 1' in out

    def losses(work_dir):
        return {r['step']: r['loss'] for r in logged(work_dir) if 'loss' in r}

    full, cut = losses(tmp_path / 'full'), losses(tmp_path / 'cut')
    assert len(full) == 2 * 96 // 16  # 2 epochs of 96 images, batch 16
    assert full.keys() == cut.keys()
    assert full == cut
