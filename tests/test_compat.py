"""``import se_plugin`` changes nothing in mmengine, mmcv or torch; the
fixes of se_plugin.compat are switched on explicitly, and each host defect
they fix is still there (when a test of a defect fails, the host fixed it:
drop the fix). Configs inherit ours through the hosts' own tools."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel, BaseModule
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint

import se_plugin
from se_plugin import compat
from se_plugin.models.backbones.pretrained import PretrainedPrefixError
from se_plugin.utils.checkpoint_errors import CheckpointError

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SITE = osp.dirname(osp.dirname(torch.__file__))
DETECTOR = 'faster_rcnn_se_r50_2x.py'
CLASSIFIER = 'imagenet/seresnet50_8xb32_in1k.py'
# The route that works from any tool: mmengine evaluates ``_base_``.
ANY_TOOL = "_base_ = __import__('se_plugin').config_path({!r})\n"


@pytest.fixture
def host():
    """The process as mmengine and torch have it, whatever ``setup()`` did
    before in this process; put back afterwards."""
    saved = dict(compat.HOST)
    fixed = [(cls, name, cls.__dict__[name])
             for cls, name, _ in saved.values()]
    for cls, name, entry in saved.values():
        setattr(cls, name, entry)
    compat.HOST.clear()
    enable = sys.modules.pop('se_plugin.compat.enable', None)
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    for cls, name, entry in compat.HOST.values():  # what the test fixed
        setattr(cls, name, entry)
    for cls, name, entry in fixed:
        setattr(cls, name, entry)
    compat.HOST.clear()
    compat.HOST.update(saved)
    sys.modules.pop('se_plugin.compat.enable', None)
    if enable is not None:
        sys.modules['se_plugin.compat.enable'] = enable
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(allowed)


def truncated(tmp_path) -> str:
    path = str(tmp_path / 'cut.pth')
    torch.save({'state_dict': nn.Linear(2, 1).state_dict()}, path)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    return path


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return {'loss': self.fc(torch.stack(inputs)).pow(2).mean()}


def tiny_runner(work_dir, max_epochs, **kwargs) -> Runner:
    return Runner(
        model=TinyModel(),
        work_dir=str(work_dir),
        # mmengine names a run by the second it starts: one name per run.
        experiment_name=f'{work_dir}-{max_epochs}'.replace('/', '_'),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.rand(2)) for _ in range(4)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        **kwargs)


# Host defects: each test fails once the host fixes it itself.


def test_host_cannot_resume_its_own_checkpoint(host, tmp_path):
    """mmengine 0.10.7 under torch >= 2.6: fix resumable_checkpoints."""
    tiny_runner(tmp_path, max_epochs=1).train()
    resumed = tiny_runner(tmp_path / 'again', max_epochs=2, resume=True,
                          load_from=str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        resumed.train()


def test_resumable_checkpoints_resume(host, tmp_path):
    compat.resumable_checkpoints()
    tiny_runner(tmp_path, max_epochs=1).train()
    resumed = tiny_runner(tmp_path / 'again', max_epochs=2, resume=True,
                          load_from=str(tmp_path / 'epoch_1.pth'))
    resumed.train()
    assert resumed.epoch == 2


def test_host_checkpoint_errors_do_not_name_the_file(host, tmp_path):
    """mmengine 0.10.7: fix named_checkpoint_errors."""
    path = truncated(tmp_path)
    with pytest.raises(RuntimeError) as err:
        load_checkpoint(nn.Linear(2, 1), path)
    assert path not in str(err.value) and 'cut.pth' not in str(err.value)
    compat.named_checkpoint_errors()
    with pytest.raises(CheckpointError, match=f'^checkpoint {path}: '
                       'truncated or corrupt'):
        load_checkpoint(nn.Linear(2, 1), path)


@pytest.mark.parametrize('name', [DETECTOR, CLASSIFIER])
def test_host_refuses_se_plugin_bases(host, name, tmp_path):
    """mmengine 0.10.7: fix se_plugin_bases."""
    user = tmp_path / 'user.py'
    user.write_text(f"_base_ = 'se_plugin::{name}'\n")
    # No folder: the regex refuses it; a folder: MODULE2PACKAGE does.
    with pytest.raises((ValueError, AssertionError)):
        Config.fromfile(str(user))
    compat.se_plugin_bases()
    assert Config.fromfile(str(user)).model.backbone.type == \
        'se_plugin.SEResNet'


def test_host_pretrained_prefix_error_names_no_file(tmp_path):
    """mmengine 0.10.7: se_plugin's backbones name file and prefix."""
    path = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': {'fc.weight': torch.zeros(1, 2)}}, path)
    module = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path,
                                      prefix='backbone.'))
    module.fc = nn.Linear(2, 1)
    with pytest.raises(AssertionError) as err:
        module.init_weights()
    assert path not in str(err.value)


def test_backbone_names_file_and_absent_prefix(tmp_path):
    path = str(tmp_path / 'weights.pth')
    small = dict(depth=18, stem_channels=8, base_channels=8)
    weights = se_plugin.SEResNet(**small).state_dict()
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in weights.items()}}, path)
    backbone = se_plugin.SEResNet(**small, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='trunk'))
    with pytest.raises(PretrainedPrefixError) as err:
        backbone.init_weights()
    assert str(err.value) == (
        f"init_cfg Pretrained: prefix 'trunk' is not in checkpoint {path}; "
        'its weights start with backbone.: set prefix to one of them, or '
        'prefix=None for a file of this module alone')
    # The prefix the file has still loads.
    backbone = se_plugin.SEResNet(**small, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.'))
    backbone.init_weights()
    assert torch.equal(backbone.conv1.weight, weights['conv1.weight'])


# Switching on.


def test_setup_switches_every_fix_on_once(host):
    assert compat.enabled() == []
    se_plugin.setup()
    wrapped = CheckpointLoader.__dict__['load_checkpoint'].__func__
    se_plugin.setup()
    assert compat.enabled() == [
        'resumable_checkpoints', 'named_checkpoint_errors', 'se_plugin_bases'
    ]
    # Idempotent: not wrapped twice, safe globals not added twice.
    assert CheckpointLoader.__dict__['load_checkpoint'].__func__ is wrapped
    allowed = torch.serialization.get_safe_globals()
    assert HistoryBuffer in allowed
    assert len(allowed) == len(compat.checkpoint_globals())


def test_enable_module_in_custom_imports_switches_the_fixes_on(
        host, tmp_path):
    user = tmp_path / 'user.py'
    user.write_text(
        ANY_TOOL.format(CLASSIFIER) +
        "custom_imports = dict(imports=['se_plugin', "
        "'se_plugin.compat.enable'], allow_failed_imports=False)\n")
    assert compat.enabled() == []
    Config.fromfile(str(user))
    assert len(compat.enabled()) == len(compat.FIXES)


def test_get_model_loads_our_checkpoints_without_setup(host, tmp_path):
    """Scoped safe globals: the process's stay as torch has them."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', CLASSIFIER))
    cfg.model.backbone.update(depth=18, stem_channels=8, base_channels=8)
    cfg.model.head.update(in_channels=64, num_classes=3)
    model = se_plugin.get_model(cfg)
    hub = {'log_scalars': {'loss': HistoryBuffer([1.], [1])}}
    state = {'state_dict': model.state_dict(), 'message_hub': hub}
    compat.resumable_checkpoints()  # HistoryBuffer pickled as our tools do
    torch.save(state, tmp_path / 'ours.pth')
    torch.serialization.clear_safe_globals()
    loaded = se_plugin.get_model(cfg, str(tmp_path / 'ours.pth'))
    assert torch.equal(loaded.head.fc.weight, model.head.fc.weight)
    assert torch.serialization.get_safe_globals() == []


# se_plugin's configs from any tool, without any fix.


@pytest.mark.parametrize('name', [DETECTOR, CLASSIFIER])
def test_config_path_base_needs_no_fix(host, name, tmp_path):
    user = tmp_path / 'user.py'
    user.write_text(ANY_TOOL.format(name))
    cfg = Config.fromfile(str(user))
    assert compat.enabled() == []
    ours = Config.fromfile(osp.join(REPO, 'configs', name))
    assert cfg.to_dict() == ours.to_dict()
    # The base keeps the scopes it names (mmengine's pkg:: would add
    # '_scope_': 'se_plugin').
    assert cfg.model.get('_scope_') == ours.model.get('_scope_')
    # The same config as the se_plugin:: route of our tools.
    compat.se_plugin_bases()
    (tmp_path / 'scheme.py').write_text(f"_base_ = 'se_plugin::{name}'\n")
    assert Config.fromfile(str(tmp_path / 'scheme.py')).to_dict() == \
        cfg.to_dict()
    init_default_scope(cfg.default_scope)
    if name == CLASSIFIER:
        assert type(MODELS.build(cfg.model).backbone) is se_plugin.SEResNet


# In fresh processes.

FINGERPRINT = r'''
import json, os, sys
import mmcv.cnn  # noqa: F401  (registers mmcv's layers in mmengine's root)
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.model.weight_init import PretrainedInit
from mmengine.registry import MODELS
from mmengine.runner import CheckpointLoader, load_checkpoint

mode, tmp, repo = sys.argv[1:4]
if mode == 'plain':
    # Everything se_plugin imports (its hosts register their own classes
    # and safe globals on import), but not se_plugin.
    for name in json.load(open(os.path.join(tmp, 'modules.json'))):
        try:
            __import__(name)
        except Exception:
            pass
else:
    import se_plugin
if mode == 'setup':
    se_plugin.setup()


def where(entry):
    if isinstance(entry, tuple):
        return [where(entry[0]), entry[1]]
    entry = getattr(entry, '__func__', entry)
    code = getattr(entry, '__code__', None)  # functools.wraps copies names
    return f'{entry.__module__}.{entry.__qualname__}' + (
        f' in {code.co_filename}' if code else '')


def failure(call):
    try:
        call()
    except BaseException as e:
        return [f'{type(e).__module__}.{type(e).__qualname__}', str(e)]
    return None


cut = os.path.join(tmp, 'cut.pth')
torch.save({'state_dict': nn.Linear(2, 1).state_dict()}, cut)
data = open(cut, 'rb').read()
open(cut, 'wb').write(data[:len(data) // 2])
user = os.path.join(tmp, 'user.py')
open(user, 'w').write("_base_ = 'se_plugin::imagenet/x.py'\n")
config = os.path.join(repo, 'configs', 'faster_rcnn_se_r50_2x.py')
out = dict(
    missing=failure(lambda: load_checkpoint(
        nn.Linear(2, 1), os.path.join(tmp, 'missing.pth'))),
    truncated=failure(lambda: load_checkpoint(nn.Linear(2, 1), cut)),
    se_plugin_base=failure(lambda: Config.fromfile(user)),
    config=Config.fromfile(config, import_custom_modules=False).to_dict(),
    safe_globals=sorted(
        map(str, map(where, torch.serialization.get_safe_globals()))),
    history_getstate=where(HistoryBuffer.__dict__['__getstate__']),
    get_cfg_path=where(Config.__dict__['_get_cfg_path']),
    load_checkpoint=where(CheckpointLoader.__dict__['load_checkpoint']),
    pretrained_init=where(PretrainedInit.__call__),
    root_models=sorted(MODELS.module_dict),
    se_plugin_imported='se_plugin' in sys.modules,
    modules=[m for m in sys.modules if not m.startswith('se_plugin')])
print(json.dumps(out, default=str))
'''


def fingerprint(mode: str, tmp_path, modules=()) -> dict:
    work = tmp_path / mode
    work.mkdir()
    (work / 'fingerprint.py').write_text(FINGERPRINT)
    (work / 'modules.json').write_text(json.dumps(list(modules)))
    proc = subprocess.run(
        [sys.executable, 'fingerprint.py', mode, str(work), REPO],
        cwd=str(work), capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.slow
def test_import_leaves_the_hosts_as_they_are(tmp_path):
    imported = fingerprint('import', tmp_path)
    plain = fingerprint('plain', tmp_path, imported.pop('modules'))
    assert not plain.pop('se_plugin_imported')
    assert imported.pop('se_plugin_imported')
    plain.pop('modules')
    # Paths differ per process folder; the rest must be bit for bit.
    for name in ('missing', 'truncated'):
        imported[name][1] = imported[name][1].replace('/import/', '/plain/')
    assert imported == plain
    # The fingerprint sees what setup() changes.
    fixed = fingerprint('setup', tmp_path)
    fixed.pop('se_plugin_imported')
    fixed.pop('modules')
    changed = sorted(k for k in plain
                     if json.dumps(fixed[k]).replace('/setup/', '/plain/')
                     != json.dumps(plain[k]))
    assert changed == [
        'get_cfg_path', 'history_getstate', 'load_checkpoint', 'missing',
        'safe_globals', 'se_plugin_base', 'truncated'
    ]


# What each host's own tools/train.py does, unmodified, up to
# ``runner.train()``: that call only reports what the runner built.
HOST_TRAIN = r'''
import runpy, sys
from mmengine.runner import Runner


def built(runner):
    from se_plugin import compat
    model = runner.model
    print('BUILT', type(model).__name__, type(model.backbone).__name__,
          ','.join(compat.enabled()) or 'no-fixes')


Runner.train = built
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name='__main__')
'''


def host_train(script: str, config_text: str, tmp_path) -> str:
    """Run ``script`` (a tools/train.py) on a user config from a folder
    outside the checkout; returns the BUILT line."""
    (tmp_path / 'user.py').write_text(config_text)
    (tmp_path / 'host_train.py').write_text(HOST_TRAIN)
    proc = subprocess.run(
        [sys.executable, 'host_train.py', script, 'user.py', '--work-dir',
         str(tmp_path / 'work')],
        cwd=str(tmp_path), capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return [line for line in proc.stdout.splitlines()
            if line.startswith('BUILT')][-1]


@pytest.mark.slow
@pytest.mark.parametrize('host_package,name,built', [
    ('mmdet', DETECTOR, 'BUILT FasterRCNN SEResNet no-fixes'),
    ('mmpretrain', CLASSIFIER, 'BUILT ImageClassifier SEResNet no-fixes'),
    ('mmseg', CLASSIFIER, 'BUILT ImageClassifier SEResNet no-fixes'),
])
def test_hosts_own_train_builds_a_config_inheriting_ours(
        host_package, name, built, tmp_path):
    script = osp.join(SITE, host_package, '.mim', 'tools', 'train.py')
    assert osp.isfile(script), f'{host_package} ships no .mim/tools/train.py'
    config = ANY_TOOL.format(name)
    assert host_train(script, config, tmp_path) == built


@pytest.mark.slow
def test_hosts_own_train_refuses_the_se_plugin_scheme(tmp_path):
    """mmengine 0.10.7 resolves bases before ``custom_imports``: with the
    hosts' own tools, ``se_plugin::`` stops at mmengine's check."""
    (tmp_path / 'user.py').write_text(
        f"_base_ = 'se_plugin::{DETECTOR}'\n"
        "custom_imports = dict(imports=['se_plugin', "
        "'se_plugin.compat.enable'])\n")
    (tmp_path / 'host_train.py').write_text(HOST_TRAIN)
    script = osp.join(SITE, 'mmdet', '.mim', 'tools', 'train.py')
    proc = subprocess.run(
        [sys.executable, 'host_train.py', script, 'user.py'],
        cwd=str(tmp_path), capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode != 0
    assert '_get_package_and_cfg_path' in proc.stderr


@pytest.mark.slow
def test_our_train_takes_the_se_plugin_scheme_from_anywhere(tmp_path):
    built = host_train(
        osp.join(REPO, 'tools', 'train.py'),
        f"_base_ = 'se_plugin::{DETECTOR}'\n", tmp_path)
    assert built == ('BUILT FasterRCNN SEResNet resumable_checkpoints,'
                     'named_checkpoint_errors,se_plugin_bases')
