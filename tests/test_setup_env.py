"""tools/misc/cuda_env.py: the CUDA decisions of tools/setup_env.sh (arch
list, wheel-cache key, driver and nvcc checks). The build itself never runs:
the CLI is run with a fake nvcc, which only prints a version and its archs.
Also setup_env.sh's disk-space check, with a fake df, and its self-check
(tools/misc/check_env.py) on made-up pins."""
import importlib.util
import os
import os.path as osp
import platform
import re
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'cuda_env.py')
spec = importlib.util.spec_from_file_location('cuda_env', SCRIPT)
cuda_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cuda_env)
spec = importlib.util.spec_from_file_location(
    'check_env', osp.join(REPO, 'tools', 'misc', 'check_env.py'))
check_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_env)

TORCH_ARCHS = ['sm_50', 'sm_75', 'sm_80', 'sm_90', 'sm_120']
NVCC_ARCHS = {'7.5', '8.0', '8.6', '9.0', '10.0', '12.0'}


def fake_nvcc(folder, release, archs=('75', '90')):
    """A CUDA_HOME whose bin/nvcc answers --version and --list-gpu-arch."""
    bin_dir = folder / 'bin'
    bin_dir.mkdir(parents=True)
    (folder / 'lib64').mkdir()
    (folder / 'lib64' / 'libcudart.so').write_text('')
    listed = '\\n'.join(f'compute_{a}' for a in archs)
    nvcc = bin_dir / 'nvcc'
    nvcc.write_text(
        '#!/bin/sh\n'
        f'case "$1" in\n'
        f'  --version) echo "Cuda compilation tools, release {release}, '
        f'V{release}.1";;\n'
        f'  --list-gpu-arch) printf "{listed}\\n";;\n'
        f'  *) exit 3;;\n'
        'esac\n')
    nvcc.chmod(0o755)
    return str(nvcc)


def plan_cli(tmp_path, **env):
    """``cuda_env.py plan`` with a clean CUDA environment plus ``env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ('CUDA_HOME', 'CUDA_PATH', 'FORCE_CUDA', 'CPATH',
                     'TORCH_CUDA_ARCH_LIST', 'SE_PLUGIN_NVCC')
    }
    base['CUDA_VISIBLE_DEVICES'] = ''  # the decisions without a GPU
    return subprocess.run(
        [sys.executable, SCRIPT, 'plan', str(tmp_path / 'venv')],
        capture_output=True, text=True, env=dict(base, **env))


def test_arch_list_from_env_then_devices_then_torch():
    env = {'TORCH_CUDA_ARCH_LIST': '8.0 9.0+PTX'}
    assert cuda_env.choose_arch_list(env, [(8, 6)], TORCH_ARCHS,
                                     NVCC_ARCHS) == ['8.0', '9.0+PTX']
    # One arch per distinct GPU; a GPU newer than torch's newest is capped.
    assert cuda_env.choose_arch_list({}, [(9, 0), (8, 6), (9, 0)],
                                     TORCH_ARCHS,
                                     NVCC_ARCHS) == ['8.6', '9.0+PTX']
    assert cuda_env.choose_arch_list({}, [(12, 1)], TORCH_ARCHS,
                                     NVCC_ARCHS) == ['12.0+PTX']
    # Forced without a GPU: torch's archs that nvcc still compiles (nvcc 13
    # dropped 5.0).
    assert cuda_env.choose_arch_list({}, [], TORCH_ARCHS, NVCC_ARCHS) == [
        '7.5', '8.0', '9.0', '12.0+PTX'
    ]


@pytest.mark.parametrize('value, message', [
    ('Hopper', 'must be compute capabilities like "9.0"'),
    ('9', 'must be compute capabilities like "9.0"'),
    ('6.1;9.0', 'nvcc does not compile for 6.1; it compiles for 7.5 8.0'),
])
def test_bad_arch_list_is_named(value, message):
    with pytest.raises(cuda_env.CudaSetupError,
                       match='TORCH_CUDA_ARCH_LIST') as err:
        cuda_env.choose_arch_list({'TORCH_CUDA_ARCH_LIST': value}, [],
                                  TORCH_ARCHS, NVCC_ARCHS)
    assert message in str(err.value)


def test_cache_key_separates_cuda_and_archs():
    cpu = cuda_env.cache_key('2.14.1+cu130', (3, 11), 'x86_64')
    # The CPU key of earlier set-ups, so their cached wheels are reused.
    assert cpu == 'torch2.14.1-py311-cpu-x86_64'
    one = cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (13, 0), ['9.0'])
    assert one == 'torch2.14.1-py311-cu130-sm90-x86_64'
    keys = {
        one,
        cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (13, 0),
                           ['9.0+PTX']),
        cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (12, 8), ['9.0']),
        cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (13, 0),
                           ['8.6', '9.0']),
    }
    assert len(keys) == 4
    assert cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (13, 0),
                              ['9.0', '8.6']) in keys  # order-free


def test_driver_older_than_torch_is_an_error():
    with pytest.raises(cuda_env.CudaSetupError,
                       match=r'driver supports CUDA 12\.4, older than the '
                       r'CUDA 13\.0 torch 2\.14\.1'):
        cuda_env.check_driver((12, 4), (13, 0), '2.14.1')
    cuda_env.check_driver((13, 2), (13, 0), '2.14.1')


def test_force_cuda_values():
    assert not cuda_env.cuda_wanted({}, 0)
    assert not cuda_env.cuda_wanted({'FORCE_CUDA': '0'}, 0)
    assert cuda_env.cuda_wanted({'FORCE_CUDA': '1'}, 0)
    assert cuda_env.cuda_wanted({}, 2)
    with pytest.raises(cuda_env.CudaSetupError, match="FORCE_CUDA.*'yes'"):
        cuda_env.cuda_wanted({'FORCE_CUDA': 'yes'}, 0)


def test_find_nvcc_order(tmp_path):
    home = fake_nvcc(tmp_path / 'home', '13.0')
    on_path = fake_nvcc(tmp_path / 'path', '13.0')
    venv = tmp_path / 'venv'
    pypi = fake_nvcc(
        venv / 'lib' / ('python%d.%d' % sys.version_info[:2]) /
        'site-packages' / 'nvidia' / 'cu13', '13.0')
    path = osp.dirname(on_path)
    missing = str(tmp_path / 'none')
    find = cuda_env.find_nvcc
    assert find({'CUDA_HOME': str(tmp_path / 'home'), 'PATH': path},
                str(venv), missing) == home
    assert find({'PATH': path}, str(venv), missing) == on_path
    assert find({'PATH': ''}, str(venv), str(tmp_path / 'home')) == home
    assert find({'PATH': ''}, str(venv), missing) == pypi
    assert find({'PATH': path, 'SE_PLUGIN_NVCC': 'pypi'}, str(venv),
                missing) == pypi
    assert find({'PATH': ''}, missing, missing) is None  # -> PyPI install
    with pytest.raises(cuda_env.CudaSetupError,
                       match=f'CUDA_HOME={missing} has no bin/nvcc'):
        find({'CUDA_HOME': missing}, str(venv), missing)


def test_pypi_packages_follow_torch_cuda():
    assert cuda_env.pypi_packages((12, 8)) == [
        'cuda-toolkit[nvcc,crt,nvvm,cccl]==12.8.*'
    ]


@pytest.fixture
def no_gpu(monkeypatch):
    """The driver reports no GPU, as on a machine without one."""
    monkeypatch.setattr(cuda_env, 'driver', lambda: (0, None))


def test_plan_without_gpu_or_force_is_the_cpu_build(tmp_path, no_gpu):
    key = cuda_env.cache_key(torch.__version__, sys.version_info[:2],
                             platform.machine())
    assert cuda_env.plan(str(tmp_path / 'venv'), {}) == [f'variant={key}']
    assert cuda_env.plan(str(tmp_path / 'venv'),
                         {'FORCE_CUDA': '0'}) == [f'variant={key}']


def test_plan_forced_with_matching_nvcc(tmp_path, no_gpu):
    release = torch.version.cuda
    nvcc = fake_nvcc(tmp_path / 'cuda', release)
    lines = cuda_env.plan(
        str(tmp_path / 'venv'),
        dict(FORCE_CUDA='1', PATH=osp.dirname(nvcc),
             TORCH_CUDA_ARCH_LIST='9.0'))
    cu = release.replace('.', '')
    assert lines[-1] == (f'variant=torch{torch.__version__.split("+")[0]}-'
                         f'py%d%d-cu{cu}-sm90-{platform.machine()}' %
                         sys.version_info[:2])
    assert 'export FORCE_CUDA=1' in lines
    assert f'export CUDA_HOME={tmp_path / "cuda"}' in lines
    assert 'export TORCH_CUDA_ARCH_LIST=9.0' in lines


def other_release(which):
    major, minor = map(int, torch.version.cuda.split('.')[:2])
    return f'{major - 1}.{minor}' if which == 'major' else \
        f'{major}.{minor + 1}'


def test_plan_forced_with_nvcc_of_other_minor_names_both(tmp_path, no_gpu):
    release = other_release('minor')
    nvcc = fake_nvcc(tmp_path / 'cuda', release)
    with pytest.raises(cuda_env.CudaSetupError) as err:
        cuda_env.plan(str(tmp_path / 'venv'),
                      dict(FORCE_CUDA='1', CUDA_HOME=str(tmp_path / 'cuda')))
    assert (f'{nvcc} is CUDA {release}, but torch {torch.__version__} is '
            f'built with CUDA {torch.version.cuda}') in str(err.value)


@pytest.mark.slow  # a Python subprocess
def test_cli_with_nvcc_of_other_major_fails_with_nothing_to_eval(tmp_path):
    release = other_release('major')
    nvcc = fake_nvcc(tmp_path / 'cuda', release)
    proc = plan_cli(tmp_path, FORCE_CUDA='1', CUDA_HOME=str(tmp_path / 'cuda'))
    assert proc.returncode == 1
    assert proc.stdout == ''  # nothing for setup_env.sh to eval
    assert (f'[setup_env] error: {nvcc} is CUDA {release}, but torch '
            f'{torch.__version__} is built with CUDA '
            f'{torch.version.cuda}') in proc.stderr


def fake_venv(venv, release, installs=True):
    """A venv whose ``python -m pip install`` logs its arguments and, if
    ``installs``, puts a fake nvcc where NVIDIA's wheels put theirs."""
    cu = (venv / 'lib' / ('python%d.%d' % sys.version_info[:2]) /
          'site-packages' / 'nvidia' / 'cu13')
    staged = fake_nvcc(venv / 'staged', release)
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'
    python.write_text(
        '#!/bin/sh\n'
        f'echo "$@" > {venv}/pip.args\n'
        + (f'mkdir -p {cu}/bin {cu}/lib && cp {staged} {cu}/bin/nvcc\n'
           f'touch {cu}/lib/libcudart.so.13\n'
           if installs else 'exit 1\n'))
    python.chmod(0o755)
    return cu / 'bin' / 'nvcc'


def test_plan_installs_nvcc_from_pypi_when_asked(tmp_path, no_gpu):
    venv = tmp_path / 'venv'
    nvcc = fake_venv(venv, torch.version.cuda)
    lines = cuda_env.plan(str(venv), dict(FORCE_CUDA='1', PATH='',
                                          SE_PLUGIN_NVCC='pypi',
                                          TORCH_CUDA_ARCH_LIST='9.0'))
    args = (venv / 'pip.args').read_text().split()
    assert args[:3] == ['-m', 'pip', 'install']
    assert args[-1] == (f'cuda-toolkit[nvcc,crt,nvvm,cccl]=='
                        f'{torch.version.cuda}.*')
    assert f'export CUDA_HOME={nvcc.parent.parent}' in lines
    # The wheels' libcudart.so.13, linked for -lcudart.
    assert f'export LIBRARY_PATH={venv}/.se_plugin_cuda/lib' in lines


def test_plan_says_when_the_pypi_install_fails(tmp_path, no_gpu):
    venv = tmp_path / 'venv'
    fake_venv(venv, torch.version.cuda, installs=False)
    with pytest.raises(cuda_env.CudaSetupError,
                       match=f'failed .*point CUDA_HOME at a CUDA '
                       f'{torch.version.cuda} toolkit'):
        cuda_env.plan(str(venv), dict(FORCE_CUDA='1', SE_PLUGIN_NVCC='pypi'))


def test_link_cudart_only_when_the_toolkit_lacks_it(tmp_path):
    venv = tmp_path / 'venv'
    lib = (venv / 'lib' / ('python%d.%d' % sys.version_info[:2]) /
           'site-packages' / 'nvidia' / 'cu13' / 'lib')
    lib.mkdir(parents=True)
    (lib / 'libcudart.so.13').write_text('')
    # PyPI's layout: only libcudart.so.13, so -lcudart needs a link.
    folder = cuda_env.link_cudart(str(lib.parent), str(venv))
    assert os.readlink(osp.join(folder, 'libcudart.so')) == str(
        lib / 'libcudart.so.13')
    assert folder.startswith(str(venv))
    fake_nvcc(tmp_path / 'cuda', '13.0')  # has lib64/libcudart.so
    assert cuda_env.link_cudart(str(tmp_path / 'cuda'), str(venv)) is None
    with pytest.raises(cuda_env.CudaSetupError, match='no libcudart.so'):
        cuda_env.link_cudart(str(tmp_path / 'none'), str(tmp_path / 'none'))


def test_setup_stops_first_when_the_disk_is_short(tmp_path):
    """A new .venv on a file system with too little space: setup_env.sh
    stops before it creates anything, naming the folder and the sizes (pip
    would fail gigabytes later with 'No space left on device')."""
    root = tmp_path / 'checkout'
    (root / 'tools').mkdir(parents=True)
    script = root / 'tools' / 'setup_env.sh'
    script.write_text(open(osp.join(REPO, 'tools', 'setup_env.sh')).read())
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    df = bin_dir / 'df'  # 3 GiB free, as POSIX df -Pk prints it
    df.write_text('#!/bin/sh\necho "Filesystem 1024-blocks Used Available '
                  'Capacity Mounted on"\n'
                  'echo "/dev/x 9999999 0 3145728 1% /"\n')
    df.chmod(0o755)
    # PYTHON=false: were the check skipped, making the venv fails at once.
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               PYTHON='false')
    result = subprocess.run(['bash', str(script)], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 1
    assert (f'not enough disk space for a new {root}/.venv: needs about 7 '
            f'GiB free on the file system of {root}, which has 3072 MiB '
            'free') in result.stderr
    assert not (root / '.venv').exists()


def test_self_check_names_each_version_off_its_pin(tmp_path):
    req = tmp_path / 'runtime.txt'
    req.write_text('# the stack\nmmengine==0.10.7  # why\n\nnumpy==1.26.4\n')
    pins = check_env.read_pins(['torch==2.14.1', str(req)])
    assert pins == dict(torch='2.14.1', mmengine='0.10.7', numpy='1.26.4')
    installed = {'torch': '2.14.1+cu130', 'mmengine': '0.10.6'}
    assert check_env.wrong_versions(pins, installed) == [
        'mmengine 0.10.6 (pinned 0.10.7)', 'numpy missing (pinned 1.26.4)'
    ]
    # The files setup_env.sh checks are pins only.
    pins = check_env.read_pins([
        osp.join(REPO, 'requirements', name)
        for name in ('runtime.txt', 'tests.txt', 'nodeps.txt')
    ])
    assert {'mmengine', 'mmdet', 'mmpretrain', 'openmim'} <= set(pins)


def test_self_check_refuses_what_is_not_a_pin(tmp_path):
    req = tmp_path / 'runtime.txt'
    req.write_text('numpy==1.26.4\nmmdet>=3.3\n')
    with pytest.raises(ValueError, match=re.escape(
            f"{req}:2: 'mmdet>=3.3' is not a pin (name==version)")):
        check_env.read_pins([str(req)])
