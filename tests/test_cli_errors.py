"""Bad command lines for every tool under tools/: exit status 2 and one
line ``PROG: error: ...`` naming the argument or file (after argparse's
usage, where argparse itself stops), never a traceback. Each tool runs in
this process as ``__main__`` (runpy), so nothing trains or starts."""
import json
import os.path as osp
import pickle
import runpy
import sys

import pytest
import torch

from se_plugin.utils import cli

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs/demo/seresnet50_8xb32_in1k_demo.py')


def run_tool(tool, args, monkeypatch, capsys):
    """Run tools/``tool`` with ``args``: (exit status, stderr lines)."""
    monkeypatch.setattr(sys, 'argv', [osp.basename(tool)] + list(args))
    with pytest.raises(SystemExit) as done:
        runpy.run_path(osp.join(REPO, 'tools', tool), run_name='__main__')
    return done.value.code, capsys.readouterr().err.splitlines()


def assert_usage_error(tool, args, message, monkeypatch, capsys,
                       parsed=False):
    """Exit 2; the last line is ``PROG: error: ...`` with ``message``;
    above it argparse's usage only (``parsed=False``), or nothing at all
    for an error found after parsing."""
    code, err = run_tool(tool, args, monkeypatch, capsys)
    text = '\n'.join(err)
    assert code == 2, text
    assert 'Traceback' not in text
    assert err[-1].startswith(f'{osp.basename(tool)}: error: '), text
    assert message in err[-1], text
    if parsed:
        assert len(err) == 1, text
    else:
        assert err[0].startswith('usage: '), text


@pytest.fixture
def files(tmp_path):
    """An existing file of each kind the tools take, and a missing one."""
    paths = dict(
        missing=str(tmp_path / 'nowhere.pth'),
        ckpt=str(tmp_path / 'model.pth'),
        pkl=str(tmp_path / 'preds.pkl'),
        image=str(tmp_path / 'image.jpg'),
        text=str(tmp_path / 'notes.txt'),
        bare_cfg=str(tmp_path / 'bare.py'),
    )
    torch.save({'state_dict': {}}, paths['ckpt'])
    with open(paths['pkl'], 'wb') as f:
        pickle.dump([{'pred_label': 0}], f)
    import cv2
    import numpy as np
    cv2.imwrite(paths['image'], np.zeros((8, 8, 3), np.uint8))
    with open(paths['text'], 'w') as f:
        f.write('not an image\n')
    with open(paths['bare_cfg'], 'w') as f:  # a config with nothing else
        f.write("default_scope = 'mmpretrain'\n")
    return paths


# (tool, its arguments, what the error line says); {name} is a path of
# the ``files`` fixture, {tmp} the test's folder.
PARSE_ERRORS = [
    ('train.py', ['{missing}'], 'argument config: no such file: {missing}'),
    ('train.py', [CONFIG, '--cfg-options', 'foo'],
     "argument --cfg-options: expected KEY=VALUE items, got 'foo'"),
    ('test.py', ['{missing}', '{ckpt}'],
     'argument config: no such file: {missing}'),
    ('test.py', [CONFIG, '{missing}'], 'argument checkpoint: {missing} is '
     'neither a file nor a published name (timm://..., mmpretrain://...)'),
    ('test.py', [CONFIG, 'timm://seresnet5'],
     'argument checkpoint: timm://seresnet5: not a timm SE architecture'),
    ('test.py', [CONFIG, '{ckpt}', '--out', 'preds.json'],
     '--out preds.json: predictions are dumped to a .pkl'),
    ('image_demo.py', ['{missing}', CONFIG],
     'argument image: no such file: {missing}'),
    ('image_demo.py', ['{tmp}', CONFIG],
     'argument image: {tmp} is a folder, not a file'),
    ('image_demo.py', ['{image}', '{missing}'],
     'argument config: {missing} is neither a file nor a published name'),
    ('image_demo.py', ['{image}', CONFIG, '--weights', '{missing}'],
     'argument --weights: {missing} is neither a file nor a published'),
    ('image_demo.py', ['{image}', CONFIG, '--topk', '0'],
     "argument --topk: must be an integer >= 1, got '0'"),
    ('image_demo.py', ['{image}', CONFIG, '--topk', 'five'],
     "argument --topk: must be an integer >= 1, got 'five'"),
    ('image_demo.py', ['{image}', CONFIG, '--score-thr', '1.5'],
     "argument --score-thr: must be a number from 0 to 1, got '1.5'"),
    ('analysis/excitation.py', ['{missing}', '{ckpt}'],
     'argument config: no such file: {missing}'),
    ('analysis/excitation.py', [CONFIG, '{missing}'],
     'argument checkpoint: no such file: {missing}'),
    ('analysis/excitation.py', [CONFIG, '{ckpt}', '--data-config',
                                '{missing}'],
     'argument --data-config: no such file: {missing}'),
    ('analysis/excitation.py', [CONFIG, '{ckpt}', '--per-class', '0'],
     "argument --per-class: must be an integer >= 1, got '0'"),
    ('analysis/excitation.py', [CONFIG, '{ckpt}', '--channels', '-3'],
     "argument --channels: must be an integer >= 1, got '-3'"),
    ('analysis/excitation.py', [CONFIG, '{ckpt}', '--saturation', '2'],
     "argument --saturation: must be a number from 0 to 1, got '2'"),
    ('analysis/excitation.py', [CONFIG, '{ckpt}', '--data-options', 'a=1'],
     '--data-options set --data-config settings'),
    ('analysis/plot_logs.py', ['{missing}'],
     'WORK_DIR {missing}: no such folder or file'),
    ('analysis/plot_logs.py', ['{tmp}', '--legend', 'a', 'b'],
     '--legend: 2 labels for 1 work dirs'),
    ('analysis/plot_logs.py', ['{tmp}', '{tmp}'],
     'runs need distinct labels'),
    ('analysis/plot_logs.py', ['{tmp}', '--out', 'curves.xyz'],
     'argument --out: curves.xyz: matplotlib writes '),
    ('analysis/confusion_matrix.py', ['{missing}', '{pkl}'],
     'argument config: no such file: {missing}'),
    ('analysis/confusion_matrix.py', [CONFIG, '{missing}'],
     'argument ckpt_or_result: no such file: {missing}'),
    ('analysis/confusion_matrix.py', [CONFIG, '{text}'],
     'ckpt_or_result: {text}: expected a checkpoint (.pth) or dumped '
     'predictions (.pkl, .pickle)'),
    ('analysis/confusion_matrix.py', [CONFIG, '{pkl}', '--cmap', 'nocmap'],
     '--cmap nocmap: not a matplotlib colormap'),
    ('analysis/confusion_matrix.py', [CONFIG, '{pkl}', '--show-path',
                                      'cm'],
     'argument --show-path: cm: matplotlib writes '),
    ('analysis/complexity.py', ['{missing}'],
     'argument configs: no such file: {missing}'),
    ('analysis/complexity.py', ['--shape', '0', '32'],
     "argument --shape: must be an integer >= 1, got '0'"),
    ('analysis/benchmark.py', ['--batch', '0'],
     "argument --batch: must be an integer >= 1, got '0'"),
    ('analysis/benchmark.py', ['--warmup', '-1'],
     "argument --warmup: must be an integer >= 0, got '-1'"),
    ('analysis/benchmark.py', ['--models', 'ours SE-R51'],
     "--models: ['ours SE-R51'] are not among the models ('ours SE-R50'"),
    ('misc/init_checkpoint.py', ['{missing}', '{tmp}/out.pth'],
     'argument config: no such file: {missing}'),
    ('misc/make_demo_data.py', ['{text}'],
     'OUT {text} is a file; the datasets go into a folder'),
    ('misc/verify_dataset.py', ['{missing}'],
     'argument config: no such file: {missing}'),
    ('misc/verify_dataset.py', [CONFIG, '--workers', '0'],
     "argument --workers: must be an integer >= 1, got '0'"),
    ('model_converters/convert_senet.py', ['{missing}', '{tmp}/out.pth'],
     'argument src: {missing} is neither a file nor a published name'),
    ('model_converters/convert_senet.py', ['timm://legacy_seresnet5',
                                           '{tmp}/out.pth'],
     'argument src: timm://legacy_seresnet5: not a timm SE architecture'),
]
if not torch.cuda.is_available():
    PARSE_ERRORS += [
        ('image_demo.py', ['{image}', CONFIG, '--device', 'cuda'],
         '--device cuda: torch sees no CUDA device here; use --device cpu'),
        ('analysis/benchmark.py', ['--amp'],
         '--amp: fp16 autocast runs on --device cuda only'),
    ]


def fill(items, files, tmp_path):
    return [item.format(tmp=tmp_path, **files) for item in items]


@pytest.mark.parametrize(
    'tool,args,message', PARSE_ERRORS,
    ids=[f'{t}:{" ".join(a)}'.replace(REPO + '/', '')
         for t, a, _ in PARSE_ERRORS])
def test_bad_argument_is_argparse_error(tool, args, message, files, tmp_path,
                                        monkeypatch, capsys):
    assert_usage_error(tool, fill(args, files, tmp_path),
                       message.format(tmp=tmp_path, **files), monkeypatch,
                       capsys)


def test_train_resume_and_auto_scale_lr(files, tmp_path, monkeypatch,
                                        capsys):
    work = ['--work-dir', str(tmp_path / 'work')]
    assert_usage_error(
        'train.py', [CONFIG, '--resume', files['missing']] + work,
        f'--resume: checkpoint {files["missing"]}: missing: no such file',
        monkeypatch, capsys, parsed=True)
    assert_usage_error(
        'train.py', [files['bare_cfg'], '--auto-scale-lr'] + work,
        '--auto-scale-lr needs auto_scale_lr.base_batch_size in the config',
        monkeypatch, capsys, parsed=True)


def test_test_show_dir_needs_a_visualization_hook(files, tmp_path,
                                                  monkeypatch, capsys):
    assert_usage_error(
        'test.py', [files['bare_cfg'], files['ckpt'], '--show-dir',
                    str(tmp_path / 'vis'), '--work-dir',
                    str(tmp_path / 'work')],
        '--show-dir: the config has no default_hooks.visualization',
        monkeypatch, capsys, parsed=True)


def test_image_demo_refuses_a_file_that_is_no_image(files, monkeypatch,
                                                    capsys):
    assert_usage_error(
        'image_demo.py', [files['text'], CONFIG],
        f'image: {files["text"]} is not an image OpenCV can decode',
        monkeypatch, capsys, parsed=True)


def test_excitation_names_unknown_classes_and_splits(demo_root, files,
                                                     monkeypatch, capsys):
    root = osp.join(demo_root, 'imagenet')
    data = ['--cfg-options', f'test_dataloader.dataset.data_root={root}']
    assert_usage_error(
        'analysis/excitation.py',
        [CONFIG, files['ckpt'], '--classes', 'unicorn'] + data,
        "--classes: ['unicorn'] not among the dataset classes (",
        monkeypatch, capsys, parsed=True)
    assert_usage_error(
        'analysis/excitation.py', [files['bare_cfg'], files['ckpt']],
        '--split test: the config has no test_dataloader', monkeypatch,
        capsys, parsed=True)


def test_plot_logs_names_the_missing_log_or_key(files, tmp_path,
                                                monkeypatch, capsys):
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert_usage_error(
        'analysis/plot_logs.py', [str(empty)],
        f'{empty}: no vis_data/scalars.json in it', monkeypatch, capsys,
        parsed=True)
    run = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    (run / 'scalars.json').write_text(
        json.dumps(dict(loss=1.0, step=1, iter=1)) + '\n')
    assert_usage_error(
        'analysis/plot_logs.py', [str(tmp_path / 'run'), '--keys', 'acc'],
        "['acc'] never logged; logged keys: ['loss']", monkeypatch, capsys,
        parsed=True)


def test_confusion_matrix_refuses_what_is_not_a_dump(files, tmp_path,
                                                     monkeypatch, capsys):
    assert_usage_error(
        'analysis/confusion_matrix.py', [CONFIG, files['pkl']],
        f"{files['pkl']}: not a classifier's predictions dump",
        monkeypatch, capsys, parsed=True)
    garbage = tmp_path / 'garbage.pkl'
    garbage.write_bytes(b'not a pickle')
    assert_usage_error(
        'analysis/confusion_matrix.py', [CONFIG, str(garbage)],
        f'{garbage}: ', monkeypatch, capsys, parsed=True)
    code = tmp_path / 'code.pkl'
    code.write_bytes(pickle.dumps(print))
    assert_usage_error(
        'analysis/confusion_matrix.py', [CONFIG, str(code)],
        f'{code}: builtins.print is not data', monkeypatch, capsys,
        parsed=True)


def test_checkpoint_error_is_one_line_with_status_1(tmp_path, monkeypatch,
                                                    capsys):
    from se_plugin.utils.checkpoint_errors import CheckpointError

    @cli.exits_on_usage_error
    def main():
        raise CheckpointError(f'checkpoint {tmp_path}/x.pth: truncated')

    monkeypatch.setattr(sys, 'argv', ['tool.py'])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f'tool.py: error: checkpoint {tmp_path}/x.pth: truncated']


def test_other_errors_keep_their_traceback():
    """A bug is not a usage error: its exception passes unchanged."""

    @cli.exits_on_usage_error
    def main():
        raise ValueError('a bug')

    with pytest.raises(ValueError, match='^a bug$'):
        main()
