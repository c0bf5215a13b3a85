"""tools/misc/cuda_sources.py (each mmcv CUDA source compiled with the
build's flags) and tools/misc/check_mmcv_wheel.py (the checks of a cached
mmcv wheel). No nvcc runs here: the build file is torch's format, written
by the test, and the wheel checked is the installed CPU build of mmcv,
zipped as the set-up caches it."""
import glob
import importlib.util
import os
import os.path as osp
import platform
import subprocess
import sys
import zipfile

import mmcv
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MISC = osp.join(REPO, 'tools', 'misc')


def load(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(MISC, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cuda_sources = load('cuda_sources')
check_mmcv_wheel = load('check_mmcv_wheel')
cuda_env = load('cuda_env')

# The shape of the build.ninja torch 2.14's extension builder writes for
# mmcv (tools/misc/README.md shows how it is captured).
NINJA = '''ninja_required_version = 1.3
cxx = c++
nvcc = /usr/local/cuda/bin/nvcc

cflags = -DMMCV_WITH_CUDA -I/src/mmcv/ops/csrc/common -c
post_cflags = -std=c++20 -DTORCH_EXTENSION_NAME=_ext
cuda_cflags = -DMMCV_WITH_CUDA -I/src/mmcv/ops/csrc/common -c
cuda_post_cflags = -D__CUDA_NO_HALF_OPERATORS__ --expt-relaxed-constexpr \
--compiler-options ''"'"'-fPIC'"'"'' -std=c++20 -DTORCH_EXTENSION_NAME=_ext \
-gencode=arch=compute_75,code=sm_75 -gencode=arch=compute_90,code=sm_90 \
-gencode=arch=compute_120,code=compute_120
ldflags =

rule cuda_compile
  depfile = $out.d
  deps = gcc
  command = $nvcc -MD -MF $out.d $cuda_cflags -c $in -o $out $cuda_post_cflags

build /src/build/temp/nms.o: compile /src/mmcv/ops/csrc/pytorch/nms.cpp
build /src/build/temp/cuda/nms_cuda.o: cuda_compile /src/mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu
build /src/build/temp/cuda/roi_align_cuda.o: cuda_compile /src/mmcv/ops/csrc/pytorch/cuda/roi_align_cuda.cu
'''.replace('\\\n', '')  # noqa: E501


def test_ninja_file_gives_each_cuda_source_once(tmp_path):
    path = tmp_path / 'build.ninja'
    path.write_text(NINJA)
    variables, sources = cuda_sources.parse_ninja(str(path))
    assert [s for _, s in sources] == [
        '/src/mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu',
        '/src/mmcv/ops/csrc/pytorch/cuda/roi_align_cuda.cu'
    ]
    assert variables['nvcc'] == '/usr/local/cuda/bin/nvcc'
    path.write_text(NINJA.replace('cuda_compile /', 'compile /'))
    with pytest.raises(RuntimeError, match='build.ninja has no cuda_compile '
                       'lines: was the build made with FORCE_CUDA=1'):
        cuda_sources.parse_ninja(str(path))


def test_full_command_is_the_builds_and_the_front_end_drops_code_gen(
        tmp_path):
    path = tmp_path / 'build.ninja'
    path.write_text(NINJA)
    variables, [(_, source), _] = cuda_sources.parse_ninja(str(path))
    full = cuda_sources.command(variables, source, 'x.o', True, [])
    assert full == [
        '/usr/local/cuda/bin/nvcc', '-DMMCV_WITH_CUDA',
        '-I/src/mmcv/ops/csrc/common', '-c', source, '-o', 'x.o',
        '-D__CUDA_NO_HALF_OPERATORS__', '--expt-relaxed-constexpr',
        '--compiler-options', "'-fPIC'", '-std=c++20',
        '-DTORCH_EXTENSION_NAME=_ext', '-gencode=arch=compute_75,code=sm_75',
        '-gencode=arch=compute_90,code=sm_90',
        '-gencode=arch=compute_120,code=compute_120'
    ]
    front = cuda_sources.command(variables, source, 'x.ii', False,
                                 ['7.5', '12.0'])
    assert front[front.index('-cuda') + 1] == source
    assert '-c' not in front
    assert [f for f in front if f.startswith('-gencode')] == [
        '-gencode=arch=compute_75,code=compute_75',
        '-gencode=arch=compute_120,code=compute_120'
    ]
    assert front[-2:] == ['-Xcicc', '-O0']
    # Every other flag of the build is kept.
    assert [f for f in full if not f.startswith('-gencode')
            and f not in ('-c', 'x.o')] == [
        f for f in front[:-2]
        if not f.startswith('-gencode') and f not in ('-cuda', 'x.ii')
    ]


def test_build_file_is_caught_where_torch_runs_ninja(tmp_path):
    # A setup.py that, like torch's extension builder, writes build.ninja in
    # the build folder and runs `ninja --version`, then `ninja -v` there.
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'setup.py').write_text(
        'import os, subprocess, sys\n'
        'temp = sys.argv[sys.argv.index("--build-temp") + 1]\n'
        'os.makedirs(temp)\n'
        'open(os.path.join(temp, "build.ninja"), "w").write("rule x\\n")\n'
        'subprocess.check_output(["ninja", "--version"])\n'
        'sys.exit(subprocess.run(["ninja", "-v"], cwd=temp).returncode)\n')
    folder = tmp_path / 'work'
    folder.mkdir()
    path = cuda_sources.ninja_file(str(src), dict(os.environ), str(folder))
    assert open(path).read() == 'rule x\n'
    (src / 'setup.py').write_text('import sys\nsys.exit("no torch")\n')
    os.remove(path)
    with pytest.raises(RuntimeError, match='wrote no build.ninja .exit 1.: '
                       'no torch'):
        cuda_sources.ninja_file(str(src), dict(os.environ), str(folder))


def test_archs_of_the_cubins_as_the_arch_list_writes_them():
    archs = check_mmcv_wheel.archs_of({'sm_90a': 58, 'sm_75': 58,
                                       'sm_120': 58}, {'sm_120': 58})
    assert archs == ['7.5', '9.0a', '12.0+PTX']
    assert cuda_env.cache_key('2.14.1', (3, 11), 'x86_64', (13, 0),
                              archs) == 'torch2.14.1-py311-cu130-' \
        'sm75_90a_120ptx-x86_64'


@pytest.fixture(scope='module')
def cpu_wheel(tmp_path_factory):
    """The installed mmcv (a CPU build here) zipped into a wheel in a
    cache folder named with the set-up's key."""
    key = cuda_env.cache_key(torch.__version__, sys.version_info[:2],
                             platform.machine())
    folder = tmp_path_factory.mktemp('cache') / f'mmcv-2.1.0-{key}'
    folder.mkdir()
    wheel = folder / 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl'
    package = osp.dirname(mmcv.__file__)
    with zipfile.ZipFile(wheel, 'w') as zf:
        for path in glob.glob(osp.join(package, '**', '*'), recursive=True):
            if '__pycache__' not in path and osp.isfile(path):
                zf.write(path, osp.relpath(path, osp.dirname(package)))
    return wheel


def check(wheel, *args):
    proc = subprocess.run(
        [sys.executable, osp.join(MISC, 'check_mmcv_wheel.py'),
         str(wheel), *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow  # Python subprocesses importing torch
def test_cpu_wheel_passes_as_cpu_and_fails_as_cuda(cpu_wheel):
    code, out = check(cpu_wheel, '--expect', 'cpu')
    assert code == 0, out
    assert 'PASS kind: cpu build (no CUDA code)' in out
    assert 'libcudart' not in out
    assert 'PASS import mmcv._ext, CPU NMS and RoIAlign, no GPU' in out
    assert 'not available' in out  # get_compiling_cuda_version of a CPU build
    code, out = check(cpu_wheel, '--expect', 'cuda')
    assert code == 1
    assert 'FAIL kind: cpu build (no CUDA code), expected cuda' in out


@pytest.mark.slow  # a Python subprocess importing torch
def test_wheel_in_a_folder_of_another_key_fails(cpu_wheel, tmp_path):
    other = tmp_path / 'mmcv-2.1.0-torch2.0.0-py311-cpu-x86_64'
    other.mkdir()
    moved = other / cpu_wheel.name
    moved.write_bytes(cpu_wheel.read_bytes())
    code, out = check(moved)
    assert code == 1
    assert 'FAIL cache key: folder mmcv-2.1.0-torch2.0.0-py311-cpu-x86_64' \
        in out
