"""se_plugin as a user outside the checkout gets it: a wheel built by
``pip wheel``, installed into a fresh virtual environment that reuses this
environment's torch/mmcv stack (a .pth file, nothing copied or rebuilt),
used from a directory outside the checkout. Also what the wheel's and the
sdist's ``tools/`` carry."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap

import pytest

pytestmark = pytest.mark.slow  # builds and installs a wheel, in subprocesses

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# What a wheel is built from: the repository's fixed top level.
SOURCES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'LICENSE',
           'CITATION.cff', 'model-index.yml', 'requirements', 'se_plugin',
           'configs', 'tools')


def run(cmd, cwd, env):
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=str(cwd), env=env, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, (
        f'{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc.stdout


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    """(python of a fresh venv holding the se_plugin wheel, a user's
    directory outside the checkout, the subprocess environment, the venv's
    site-packages, the copied sources the wheel was built from)."""
    tmp = tmp_path_factory.mktemp('packaging')
    # No PYTHONPATH: it would put the checkout's se_plugin first.
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['OMP_NUM_THREADS'] = '1'  # tiny work: threads only wait on a busy CPU
    src = tmp / 'src'
    for name in SOURCES:
        path = osp.join(ROOT, name)
        if osp.isdir(path):
            shutil.copytree(
                path, src / name,
                ignore=shutil.ignore_patterns('__pycache__', '.mim'))
        else:
            os.makedirs(src, exist_ok=True)
            shutil.copy(path, src / name)
    # The build uses this environment's setuptools; offline.
    run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-index',
        '--no-build-isolation', '-q', '-w', tmp / 'dist', src
    ], tmp, env)
    wheel, = (tmp / 'dist').glob('se_plugin-*.whl')
    python = tmp / 'venv' / 'bin' / 'python'
    run([sys.executable, '-m', 'venv', '--without-pip', tmp / 'venv'], tmp,
        env)
    site = run([python, '-c', 'import sysconfig; '
                'print(sysconfig.get_paths()["purelib"])'], tmp, env).strip()
    # The stack (torch, mmcv with ops, mmdet, ...) after the venv's own
    # packages: like --system-site-packages over this environment.
    with open(osp.join(site, 'stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    run([
        python, '-m', 'pip', 'install', '--no-deps', '--no-index',
        '--ignore-installed', '-q', wheel
    ], tmp, env)
    user = tmp / 'user'
    user.mkdir()
    return python, user, env, site, src


USER_SCRIPT = textwrap.dedent('''
    import json
    import os
    import se_plugin
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    from se_plugin.utils.mim import package_root

    out = dict(file=se_plugin.__file__, root=package_root())
    se_plugin.setup()  # se_plugin:: bases
    cfg = Config.fromfile('det.py')
    init_default_scope(cfg.default_scope)
    det = MODELS.build(cfg.model)
    out['det'] = [type(det).__name__, type(det.backbone).__name__,
                  det.backbone.depth, det.roi_head.bbox_head.num_classes]
    cfg = Config.fromfile('places.py')
    out['places'] = [cfg.model.backbone.type, cfg.model.backbone.depth,
                     cfg.model.head.num_classes,
                     cfg.train_dataloader.dataset.type]
    out['d2'] = sorted(os.listdir(os.path.join(package_root(), 'configs',
                                               'detectron2')))
    out['weights'] = sorted(m.weights for m in se_plugin.list_models(
        'seresnet50', with_weights=True))
    print(json.dumps(out))
''')


def test_wheel_works_outside_the_checkout(venv):
    python, user, env, site, _ = venv
    (user / 'det.py').write_text(
        "_base_ = 'se_plugin::faster_rcnn_se_r50_2x.py'\n"
        "model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))\n")
    (user / 'places.py').write_text(
        "_base_ = 'se_plugin::places365/seresnet152_8xb32_places365.py'\n")
    (user / 'use.py').write_text(USER_SCRIPT)
    out = json.loads(run([python, 'use.py'], user, env).splitlines()[-1])
    assert out['file'] == osp.join(site, 'se_plugin', '__init__.py')
    assert out['root'] == osp.join(site, 'se_plugin', '.mim')
    assert out['det'] == ['FasterRCNN', 'SEResNet', 50, 3]
    assert out['places'] == [
        'se_plugin.SEResNet', 152, 365, 'se_plugin.Places365'
    ]
    # Detectron2 configs travel too (se_plugin:// bases resolve there).
    assert 'faster_rcnn_se_R_50_FPN_2x.yaml' in out['d2']
    assert out['weights'] == [
        'mmpretrain://seresnet50_8xb32_in1k', 'timm://legacy_seresnet50.in1k',
        'timm://seresnet50.a1_in1k'
    ]


def test_mim_search_lists_the_wheels_models(venv):
    python, user, env, site, _ = venv
    out = run([
        python, '-m', 'mim', 'search', 'se_plugin', '--field', 'weight',
        'imagenet-1k/top_1_accuracy', 'parameters', '--display-width', '200'
    ], user, env)
    assert 'timm://legacy_seresnet50.in1k' in out
    assert '77.644' in out  # the publisher's figure for its checkpoint
    assert '28088024' in out  # SE-ResNet-50's parameters, measured
    for config in ('faster_rcnn_se_r101_2x', 'seresnet152_8xb32_places365',
                   'sewrn16-8_1xb128_cifar100'):
        assert f'config id: {config}' in out


def test_editable_install_into_the_stack_adds_only_se_plugin(venv):
    """The existing-environment route: with torch, mmcv, mmdet, ... present,
    ``pip install -e .`` installs se_plugin and nothing else (no index)."""
    python, user, env, site, src = venv
    out = run([
        python, '-m', 'pip', 'install', '--dry-run', '--no-index',
        '--no-build-isolation', '-e', src
    ], user, env)
    assert out.strip().splitlines()[-1] == 'Would install se_plugin-0.1.0'


# The checkout's set-up, CI and GPU plumbing: never in the wheel.
PLUMBING = {
    'setup_env.sh', 'misc/cuda_env.py', 'misc/check_env.py', 'run_tests.sh',
    'run_demo.sh', 'misc/gpu_check.py', 'misc/make_model_index.py'
}
USER_TOOLS = {
    'train.py', 'test.py', 'dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
    'image_demo.py', 'd2_train_net.py', 'analysis/complexity.py',
    'analysis/excitation.py', 'misc/verify_dataset.py',
    'misc/make_demo_data.py', 'model_converters/convert_senet.py'
}


def files_under(folder):
    """Files under ``folder``, relative to it; pip's byte-code aside."""
    return {
        osp.relpath(osp.join(path, name), folder)
        for path, _, names in os.walk(folder) for name in names
        if '__pycache__' not in path
    }


def test_wheel_carries_user_tools_only(venv):
    python, user, env, site, src = venv
    shipped = files_under(osp.join(site, 'se_plugin', '.mim', 'tools'))
    assert USER_TOOLS <= shipped
    assert not shipped & PLUMBING
    assert not [name for name in shipped if name.endswith('.png')]
    # Everything else in the checkout's tools/ but the README's figures is
    # a user tool, and ships.
    others = {
        name
        for name in files_under(osp.join(src, 'tools'))
        if not name.startswith('analysis/figures/')
    }
    assert shipped == others - PLUMBING


def test_sdist_keeps_the_set_up_but_not_the_test_runner(venv, tmp_path):
    """An unpacked sdist sets up like a checkout; it has no tests/, so no
    tools/run_tests.sh either."""
    python, user, env, site, src = venv
    run([sys.executable, 'setup.py', '-q', 'sdist', '-d', tmp_path], src, env)
    sdist, = tmp_path.glob('se_plugin-*.tar.gz')
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    assert {
        'tools/setup_env.sh', 'tools/misc/cuda_env.py',
        'tools/misc/check_env.py', 'requirements/runtime.txt', 'setup.py',
        'tools/train.py', 'configs/faster_rcnn_se_r50_2x.py', 'model-index.yml'
    } <= names
    assert 'tools/run_tests.sh' not in names
    assert not [name for name in names if name.endswith('.png')]
