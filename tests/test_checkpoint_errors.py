"""A checkpoint that does not load names the file and says why, in one
line, through every mmengine path and the tools."""
import importlib.util
import os
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel, BaseModule
from mmengine.runner import Runner, load_checkpoint

import se_plugin
from se_plugin.converters import ConversionError, load_weights
from se_plugin.testing.demo_data import make_imagenet
from se_plugin.utils.checkpoint_errors import CheckpointError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMAGENET = 'configs/demo/seresnet50_8xb32_in1k_demo.py'


@pytest.fixture(autouse=True, scope='module')
def fixes():
    """What our tools switch on (se_plugin.compat.named_checkpoint_errors)."""
    se_plugin.setup()


class RunsCode:

    def __reduce__(self):
        return (os.system, ('touch pwned', ))


def good(path):
    torch.save({'state_dict': nn.Linear(2, 1).state_dict()}, path)
    return path


def make(kind, tmp_path) -> str:
    """A file of the given kind of badness; returns its path."""
    path = str(tmp_path / f'{kind.replace(" ", "_")}.pth')
    if kind == 'missing':
        return path
    if kind == 'directory':
        os.makedirs(path)
    elif kind == 'empty':
        open(path, 'wb').close()
    elif kind in ('truncated', 'corrupt'):
        data = bytearray(open(good(path), 'rb').read())
        if kind == 'truncated':
            data = data[:len(data) // 2]
        else:  # scramble the pickle inside the (stored) zip member
            start = data.index(b'data.pkl') + 40
            data[start:start + 20] = b'\0' * 20
        open(path, 'wb').write(bytes(data))
    elif kind == 'text':
        open(path, 'w').write('model: seresnet50\n')
    elif kind == 'tensor':
        torch.save(torch.zeros(3), path)
    elif kind == 'code':
        torch.save({'state_dict': RunsCode()}, path)
    return path


CASES = [
    ('missing', 'missing: no such file'),
    ('directory', 'not a checkpoint: it is a directory'),
    ('empty', r'truncated or corrupt: the file is empty \(0 bytes\)'),
    ('truncated', 'truncated or corrupt: the zip archive does not open'),
    ('corrupt', 'truncated or corrupt: member .*data.pkl fails its CRC'),
    ('text', "not a checkpoint: it starts with b'model: s'; torch.save "
     'writes a zip archive'),
    ('tensor', 'not a checkpoint: it holds a Tensor, not a dict of weights'),
    ('code', 'refused by the weights-only loader: it needs posix.system, '
     r'which is not an allowed plain data type \(loading it would run code'),
]


@pytest.mark.parametrize('kind,reason', CASES)
def test_load_checkpoint_names_file_and_reason(kind, reason, tmp_path, log,
                                               monkeypatch):
    path = make(kind, tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError,
                       match=f'^checkpoint {path}: {reason}') as err:
        load_checkpoint(nn.Linear(2, 1), path)
    assert '\n' not in str(err.value)
    assert log[-1] == str(err.value)  # logged before the traceback
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not (tmp_path / 'pwned').exists()


def test_host_exception_types_still_match(tmp_path):
    """Code that catches torch's or the OS's exceptions still does."""
    import pickle
    with pytest.raises(FileNotFoundError):
        load_checkpoint(nn.Linear(2, 1), make('missing', tmp_path))
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(nn.Linear(2, 1), make('code', tmp_path))
    with pytest.raises(RuntimeError):
        load_checkpoint(nn.Linear(2, 1), make('truncated', tmp_path))


def test_init_cfg_pretrained_names_the_file(tmp_path):
    path = make('truncated', tmp_path)
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path,
                                      prefix='backbone.'))
    module.fc = nn.Linear(2, 1)
    with pytest.raises(CheckpointError,
                       match=f'^checkpoint {path}: truncated or corrupt'):
        module.init_weights()


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return {'loss': self.fc(inputs).sum()}


def test_runner_resume_names_the_file(tmp_path):
    path = make('empty', tmp_path)
    runner = Runner(model=TinyModel(), work_dir=str(tmp_path / 'w'),
                    resume=True, load_from=path)
    with pytest.raises(CheckpointError, match=f'^checkpoint {path}: '
                       'truncated or corrupt: the file is empty'):
        runner.load_or_resume()


@pytest.mark.parametrize('kind,reason', [
    ('truncated', 'truncated or corrupt: the zip archive does not open'),
    ('text', "not a checkpoint: it starts with b'model: s'"),
    ('code', 'refused by the weights-only loader: it needs posix.system'),
])
def test_converter_names_file_and_reason(kind, reason, tmp_path):
    path = make(kind, tmp_path)
    with pytest.raises(ConversionError,
                       match=f'^SRC: {path} is not a readable weights-only '
                       f'checkpoint: {reason}'):
        load_weights(path)


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        osp.basename(name), osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_resume_missing_file_is_one_line(tmp_path, monkeypatch,
                                               capsys):
    train = load_tool('train')
    missing = str(tmp_path / 'nowhere.pth')
    monkeypatch.setattr(sys, 'argv', [
        'train.py', osp.join(REPO, IMAGENET), '--work-dir', str(tmp_path),
        '--resume', missing])
    with pytest.raises(SystemExit) as done:
        train.main()
    assert done.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f'train.py: error: --resume: checkpoint {missing}: missing: no such '
        'file']


def test_test_tool_logs_the_line_then_exits(tmp_path, monkeypatch,
                                            capsys):
    """tools/test.py with a truncated checkpoint: the runner's log shows
    the line, and the tool ends with it as its one error line, status 1."""
    root = make_imagenet(str(tmp_path / 'imagenet'), per_class=(1, 1),
                         size=32)
    path = make('truncated', tmp_path)
    monkeypatch.setattr(sys, 'argv', [
        'test.py', osp.join(REPO, IMAGENET), path, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options',
        f'test_dataloader.dataset.data_root={root}'])
    line = f'checkpoint {path}: truncated or corrupt: the zip archive'
    with pytest.raises(SystemExit) as done:
        load_tool('test').main()
    assert done.value.code == 1
    out, err = capsys.readouterr()
    logged = [x for x in out.splitlines() if line in x]
    assert len(logged) == 1 and ' - ERROR - ' in logged[0], logged
    assert err.splitlines()[-1].startswith(f'test.py: error: {line}'), err
    assert 'Traceback' not in err


def test_converter_tool_prints_only_the_line(tmp_path, monkeypatch, capsys):
    path = make('truncated', tmp_path)
    monkeypatch.setattr(sys, 'argv', [
        'convert_senet.py', path, str(tmp_path / 'out.pth')])
    with pytest.raises(SystemExit) as done:
        load_tool('model_converters/convert_senet').main()
    assert done.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f'convert_senet.py: error: SRC: {path} is not a readable '
        'weights-only checkpoint: truncated or corrupt: the zip archive does '
        'not open (File is not a zip file; an interrupted save or copy?)']
