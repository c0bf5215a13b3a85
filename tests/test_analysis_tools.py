"""tools/test.py --out/--out-metrics/--show-dir, tools/analysis/plot_logs.py
and tools/analysis/confusion_matrix.py on a classifier trained here on the
demo data; se_plugin/analysis/logs.py and se_plugin/utils/safe_pickle.py."""
import glob
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from se_plugin.analysis.logs import load_curves
from se_plugin.utils.safe_pickle import load_pickle

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/seresnet50_8xb32_in1k_demo.py'
TINY = ['model.backbone.depth=18', 'model.backbone.base_channels=8',
        'model.backbone.stem_channels=8', 'model.head.in_channels=64']


def run(*cmd):
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def ok(*cmd):
    code, out = run(*cmd)
    assert code == 0, out[-3000:]
    return out


@pytest.fixture(scope='module')
def trained(demo_root, tmp_path_factory):
    """Two epochs of the tiny demo classifier, validated after each:
    (work dir, checkpoint, config options)."""
    work = tmp_path_factory.mktemp('tools_train')
    root = osp.join(demo_root, 'imagenet')
    options = [f'{s}_dataloader.dataset.data_root={root}'
               for s in ('train', 'val', 'test')] + TINY
    ok(sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work),
       '--cfg-options', *options, 'train_cfg.max_epochs=2',
       'train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
       'randomness.seed=0')
    return work, str(work / 'epoch_2.pth'), options


def logged(work):
    rows = []
    for path in glob.glob(f'{work}/*/vis_data/scalars.json'):
        rows += [json.loads(line) for line in open(path)]
    return rows


@pytest.mark.slow
def test_test_py_dumps_predictions_metrics_and_drawings(trained, tmp_path):
    work, ckpt, options = trained
    out = ok(sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir',
             str(tmp_path / 'w'), '--out', str(tmp_path / 'preds.pkl'),
             '--out-metrics', str(tmp_path / 'metrics.json'), '--show-dir',
             str(tmp_path / 'vis'), '--cfg-options', *options)
    metrics = json.load(open(tmp_path / 'metrics.json'))
    preds = load_pickle(str(tmp_path / 'preds.pkl'))
    assert len(preds) == 32  # the demo's val images
    correct = sum(int(p['pred_label']) == int(p['gt_label']) for p in preds)
    assert metrics['accuracy/top1'] == pytest.approx(100 * correct / 32)
    # The same numbers as the validation after the last epoch.
    val = [r for r in logged(work) if 'accuracy/top1' in r][-1]
    assert metrics['accuracy/top1'] == val['accuracy/top1']
    assert 'metrics: {' in out
    drawn = os.listdir(tmp_path / 'vis')
    assert len(drawn) == 32 and all(f.endswith('.png') for f in drawn)


@pytest.mark.slow
def test_test_py_out_must_be_a_pickle(trained, tmp_path):
    _, ckpt, _ = trained
    code, out = run(sys.executable, 'tools/test.py', CONFIG, ckpt, '--out',
                    str(tmp_path / 'metrics.json'))
    assert code == 2
    assert 'predictions are dumped to a .pkl' in out
    assert 'the metrics json is --out-metrics' in out


@pytest.mark.slow
def test_confusion_matrix_from_dump_and_checkpoint(trained, tmp_path):
    _, ckpt, options = trained
    ok(sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir',
       str(tmp_path / 'w'), '--out', str(tmp_path / 'preds.pkl'),
       '--cfg-options', *options)
    preds = load_pickle(str(tmp_path / 'preds.pkl'))
    hand = torch.zeros(4, 4, dtype=torch.long)
    for p in preds:
        hand[int(p['gt_label']), int(p['pred_score'].argmax())] += 1
    results = {}
    for source in ('preds.pkl', ckpt):
        path = source if source == ckpt else str(tmp_path / source)
        out = ok(sys.executable, 'tools/analysis/confusion_matrix.py',
                 CONFIG, path, '--out', str(tmp_path / 'cm.json'),
                 '--show-path', str(tmp_path / 'cm.png'), '--cfg-options',
                 *options)
        results[source] = json.load(open(tmp_path / 'cm.json'))
        accuracy = 100 * int(hand.trace()) / 32
        assert f'accuracy: {accuracy:.2f} ({int(hand.trace())}/32)' in out
        assert osp.getsize(tmp_path / 'cm.png') > 1000
    for result in results.values():
        assert result['matrix'] == hand.tolist()
        assert len(result['classes']) == 4


@pytest.mark.slow
def test_plot_logs_prints_and_draws_the_logged_values(trained, tmp_path):
    work, _, _ = trained
    out = ok(sys.executable, 'tools/analysis/plot_logs.py', str(work),
             str(work), '--legend', 'se', 'again', '--keys', 'loss',
             'accuracy/top1', '--out', str(tmp_path / 'curves.png'))
    rows = logged(work)
    losses = [r['loss'] for r in sorted(rows, key=lambda r: r['step'])
              if 'loss' in r]
    accs = [r['accuracy/top1'] for r in rows if 'accuracy/top1' in r]
    assert len(losses) == 2 * 96 // 16 and len(accs) == 2
    for label in ('se', 'again'):
        assert (f'{label:<16} {"loss":<20} {"iter":<5} {12:>6} '
                f'{losses[0]:>10.4f} {losses[-1]:>10.4f} '
                f'{min(losses):>10.4f} {max(losses):>10.4f}') in out
        assert (f'{label:<16} {"accuracy/top1":<20} {"epoch":<5} {2:>6} '
                f'{accs[0]:>10.4f} {accs[-1]:>10.4f}') in out
    assert osp.getsize(tmp_path / 'curves.png') > 1000


@pytest.mark.slow
def test_plot_logs_names_a_missing_key(trained, tmp_path):
    work, _, _ = trained
    code, out = run(sys.executable, 'tools/analysis/plot_logs.py', str(work),
                    '--keys', 'accuracy/top9', '--out',
                    str(tmp_path / 'c.png'))
    assert code != 0
    assert "['accuracy/top9'] never logged; logged keys: [" in out
    assert "'accuracy/top1'" in out


def test_a_resumed_run_continues_the_curve(tmp_path):
    first = tmp_path / '20260101_000000' / 'vis_data'
    second = tmp_path / '20260102_000000' / 'vis_data'
    for folder, rows in ((first, [(1, 3.0), (2, 2.0), (3, 9.0)]),
                         (second, [(3, 1.5), (4, 1.0)])):
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text(''.join(
            json.dumps(dict(loss=v, iter=s, step=s)) + '\n'
            for s, v in rows))
    curve = load_curves(str(tmp_path), ['loss'])['loss']
    assert curve.steps == [1, 2, 3, 4] and curve.unit == 'iter'
    assert curve.values == [3.0, 2.0, 1.5, 1.0]
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json'):
        load_curves(str(tmp_path / 'nothing'), ['loss'])


class _Code:

    def __reduce__(self):
        return (os.makedirs, ('/tmp/_se_plugin_unpickled',))


def test_prediction_dumps_load_as_data_only(tmp_path):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([dict(gt_label=torch.tensor([1])),
                                   _Code()]))
    with pytest.raises(pickle.UnpicklingError,
                       match=r'evil.pkl: \w+\.makedirs is not data'):
        load_pickle(str(path))
    assert not osp.exists('/tmp/_se_plugin_unpickled')
