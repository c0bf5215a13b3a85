"""The CUDA decisions of tools/setup_env.sh for mmcv's compiled ops.

    eval "$(python tools/misc/cuda_env.py plan VENV)"

prints ``variant=KEY`` (the wheel-cache key) and, when CUDA ops are wanted
(a GPU is present, i.e. the driver reports a device, or ``FORCE_CUDA=1``),
the exports their build needs. On the way it checks, with errors that name
both sides:

- the driver: its CUDA major version must be at least torch's
  (``torch.version.cuda``), or torch cannot use the GPU at all;
- nvcc, taken from ``CUDA_HOME``, then ``PATH``, then ``/usr/local/cuda``,
  then one installed earlier into VENV: its CUDA major.minor must be
  torch's. Without any (a fresh GPU box often has the driver only), or with
  ``SE_PLUGIN_NVCC=pypi``, NVIDIA's ``cuda-toolkit`` wheels of torch's CUDA
  are installed into VENV and ``CUDA_HOME`` points there;
- the arch list: ``TORCH_CUDA_ARCH_LIST`` if set, else the visible GPUs'
  compute capabilities, else (forced without a GPU) every arch torch itself
  ships kernels for (``torch.cuda.get_arch_list()``; 7.5 8.0 8.6 9.0 10.0
  12.0 for torch 2.14.1+cu130), the last with +PTX. Each must be one nvcc
  compiles for (``nvcc --list-gpu-arch``).

The key is ``torch{version}-py{XY}-cpu-{machine}`` for a CPU build, as
before, and ``torch{version}-py{XY}-cu{XY}-sm{archs}-{machine}`` for CUDA.
Only this standard library and torch are used: it runs before se_plugin is
installed.
"""
import ctypes
import glob
import os
import os.path as osp
import platform
import re
import shlex
import shutil
import subprocess
import sys
from typing import List, Mapping, Optional, Sequence, Set, Tuple

Version = Tuple[int, int]
ARCH = re.compile(r'^(\d+)\.(\d+)([af]?)(\+PTX)?$')
DEFAULT_CUDA_HOME = '/usr/local/cuda'


class CudaSetupError(RuntimeError):
    """A CUDA set-up problem the user has to fix; the message says how."""


def log(message: str) -> None:
    """Progress on stderr: stdout carries the shell lines of ``plan``."""
    print(f'[setup_env] {message}', file=sys.stderr)


def parse_version(text: str, what: str) -> Version:
    """``'13.0'`` (or ``'13.0.2'``) as ``(13, 0)``; ``what`` names the source
    in the error."""
    match = re.match(r'^(\d+)\.(\d+)', text or '')
    if not match:
        raise CudaSetupError(f'{what}: expected a CUDA version like 13.0, '
                             f'got {text!r}')
    return int(match.group(1)), int(match.group(2))


def version(v: Version) -> str:
    """``(13, 0)`` as ``'13.0'``."""
    return f'{v[0]}.{v[1]}'


def cuda_wanted(env: Mapping[str, str], num_gpus: int) -> bool:
    """Build the CUDA ops: a GPU is present or ``FORCE_CUDA=1``."""
    force = env.get('FORCE_CUDA', '')
    if force not in ('', '0', '1'):
        raise CudaSetupError(f'FORCE_CUDA must be 1 (build CUDA ops), 0 or '
                             f'unset, got {force!r}')
    return num_gpus > 0 or force == '1'


def driver() -> Tuple[int, Optional[Version]]:
    """(visible GPUs, CUDA version of the driver) from libcuda; (0, None)
    without a driver. Asks the driver rather than torch, which only says
    "not available" when the driver is too old for it."""
    try:
        lib = ctypes.CDLL('libcuda.so.1')
    except OSError:
        return 0, None
    version, count = ctypes.c_int(), ctypes.c_int()
    if lib.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return 0, None
    if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
        count.value = 0  # e.g. CUDA_VISIBLE_DEVICES='' or no device
    return count.value, (version.value // 1000, version.value % 1000 // 10)


def check_driver(driver_cuda: Version, torch_cuda: Version,
                 torch_version: str) -> None:
    """Raise if the driver is older than torch's CUDA major version.

    Within a major version CUDA's minor-version compatibility lets a newer
    runtime run on the older driver (only PTX JIT may fail), so that is a
    warning.
    """
    need, have = version(torch_cuda), version(driver_cuda)
    if driver_cuda[0] < torch_cuda[0]:
        raise CudaSetupError(
            f'the NVIDIA driver supports CUDA {have}, older than the CUDA '
            f'{need} torch {torch_version} is built with: install a driver '
            f'for CUDA >= {torch_cuda[0]}.0 (see NVIDIA\'s CUDA '
            f'compatibility table; nvidia-smi shows the current one)')
    if driver_cuda < torch_cuda:
        log(f'warning: the NVIDIA driver supports CUDA {have}, torch '
            f'{torch_version} is built with CUDA {need}: it runs by minor-'
            f'version compatibility, but PTX compiled at run time may fail')


def find_nvcc(env: Mapping[str, str], venv: str,
              default_home: str = DEFAULT_CUDA_HOME) -> Optional[str]:
    """nvcc from ``CUDA_HOME``, ``PATH``, ``default_home``, then one installed
    into ``venv`` from PyPI; None if there is none (or
    ``SE_PLUGIN_NVCC=pypi`` asks for PyPI's)."""
    choice = env.get('SE_PLUGIN_NVCC', 'auto')
    if choice not in ('auto', 'pypi'):
        raise CudaSetupError(f'SE_PLUGIN_NVCC must be auto (CUDA_HOME, PATH, '
                             f'{default_home}) or pypi, got {choice!r}')
    if choice == 'auto':
        home = env.get('CUDA_HOME')
        if home:
            nvcc = osp.join(home, 'bin', 'nvcc')
            if not os.access(nvcc, os.X_OK):
                raise CudaSetupError(
                    f'CUDA_HOME={home} has no bin/nvcc: point CUDA_HOME at '
                    f'a CUDA toolkit, or unset it to search PATH and '
                    f'{default_home}')
            return nvcc
        for nvcc in (shutil.which('nvcc', path=env.get('PATH', '')),
                     osp.join(default_home, 'bin', 'nvcc')):
            if nvcc and os.access(nvcc, os.X_OK):
                return nvcc
    return pypi_nvcc(venv)


def site_packages(venv: str) -> str:
    """The site-packages folder of ``venv``."""
    return osp.join(venv, 'lib', 'python%d.%d' % sys.version_info[:2],
                    'site-packages')


def pypi_nvcc(venv: str) -> Optional[str]:
    """nvcc of NVIDIA's wheels in ``venv``: nvidia/cu13/bin (CUDA 13) or
    nvidia/cuda_nvcc/bin (CUDA 12)."""
    found = sorted(glob.glob(osp.join(site_packages(venv), 'nvidia', '*',
                                      'bin', 'nvcc')))
    return found[0] if found else None


def pypi_packages(torch_cuda: Version) -> List[str]:
    """NVIDIA's wheels of nvcc and the headers it needs, for torch's CUDA.

    The ``cuda-toolkit`` meta-package pins one release's component versions
    (13.0.2: nvcc 13.0.88, crt 13.0.88, nvvm 13.0.88, cccl 13.0.85); the
    runtime (``cudart``) is left to torch, which pins it.
    """
    return ['cuda-toolkit[nvcc,crt,nvvm,cccl]==%d.%d.*' % torch_cuda]


def nvcc_version(nvcc: str) -> Version:
    """The CUDA release ``nvcc --version`` reports."""
    out = run([nvcc, '--version'])
    match = re.search(r'release (\d+)\.(\d+)', out)
    if not match:
        raise CudaSetupError(f'{nvcc} --version printed no "release X.Y": '
                             f'{out.strip()[-200:]!r}')
    return int(match.group(1)), int(match.group(2))


def check_nvcc(nvcc: str, torch_cuda: Version, torch_version: str) -> None:
    """Raise unless ``nvcc`` is torch's CUDA major.minor."""
    found = nvcc_version(nvcc)
    if found != torch_cuda:
        need = version(torch_cuda)
        raise CudaSetupError(
            f'{nvcc} is CUDA {version(found)}, but torch {torch_version} is '
            f'built with CUDA {need}: point CUDA_HOME at a CUDA {need} '
            f'toolkit, or set SE_PLUGIN_NVCC=pypi to install nvcc {need} '
            f'from PyPI into the venv')


def cuda_home_of(nvcc: str) -> str:
    """The toolkit folder of ``nvcc``: where nvcc itself says it runs from
    (``_HERE_`` of a dry run), so that a wrapper script such as
    /usr/local/bin/nvcc leads to the real toolkit; else ``nvcc/../..``."""
    try:
        out = subprocess.run(
            [nvcc, '--dryrun', '-c', 'se_plugin_probe.cu'],
            capture_output=True, text=True).stderr
    except OSError:
        out = ''
    match = re.search(r'^#\$ _HERE_=(.+)$', out, re.M)
    bin_dir = match.group(1).strip() if match else osp.dirname(
        osp.realpath(nvcc))
    return osp.dirname(osp.abspath(bin_dir))


def nvcc_archs(nvcc: str) -> Set[str]:
    """The archs ``nvcc --list-gpu-arch`` compiles for, as ``'9.0'``."""
    out = run([nvcc, '--list-gpu-arch'])
    return {
        f'{num[:-1]}.{num[-1]}'
        for num in re.findall(r'compute_(\d+)', out)
    }


def parse_arch_list(text: str) -> List[str]:
    """``TORCH_CUDA_ARCH_LIST`` (``;`` or space separated) as a list."""
    archs = [a for a in re.split(r'[;\s]+', text.strip()) if a]
    bad = [a for a in archs if not ARCH.match(a)]
    if bad or not archs:
        raise CudaSetupError(
            f'TORCH_CUDA_ARCH_LIST must be compute capabilities like '
            f'"9.0" or "8.0;8.6;9.0+PTX", got {text!r}')
    return archs


def device_arch_list(capabilities: Sequence[Version],
                     torch_archs: Sequence[str]) -> List[str]:
    """One arch per distinct GPU, capped at the newest torch ships (as
    torch's own extension builder does), the last with +PTX."""
    newest = max(sm_version(a) for a in torch_archs if a.startswith('sm_'))
    archs = sorted({min(tuple(c), newest) for c in capabilities})
    return as_arch_list(archs)


def default_arch_list(torch_archs: Sequence[str],
                      supported: Set[str]) -> List[str]:
    """Forced without a GPU: every sm torch ships kernels for that nvcc
    still compiles, the last with +PTX (for GPUs newer than the list)."""
    archs = sorted({
        sm_version(a)
        for a in torch_archs if a.startswith('sm_')
    })
    archs = [v for v in archs if '%d.%d' % v in supported]
    if not archs:
        raise CudaSetupError(
            f'nvcc compiles none of the archs torch ships ({torch_archs}); '
            f'set TORCH_CUDA_ARCH_LIST to one of {sorted(supported)}')
    return as_arch_list(archs)


def sm_version(arch: str) -> Version:
    """``'sm_90'`` as ``(9, 0)``, ``'sm_120'`` as ``(12, 0)``."""
    num = re.sub(r'\D', '', arch)
    return int(num[:-1]), int(num[-1])


def as_arch_list(archs: Sequence[Version]) -> List[str]:
    """``[(8, 6), (9, 0)]`` as ``['8.6', '9.0+PTX']``: PTX of the newest
    arch lets GPUs newer than the list run (JIT-compiled)."""
    listed = ['%d.%d' % v for v in archs]
    listed[-1] += '+PTX'
    return listed


def choose_arch_list(env: Mapping[str, str], capabilities: Sequence[Version],
                     torch_archs: Sequence[str],
                     supported: Set[str]) -> List[str]:
    """``TORCH_CUDA_ARCH_LIST``, else the GPUs', else the default; each
    checked against the archs nvcc compiles for."""
    if env.get('TORCH_CUDA_ARCH_LIST'):
        archs = parse_arch_list(env['TORCH_CUDA_ARCH_LIST'])
    elif capabilities:
        archs = device_arch_list(capabilities, torch_archs)
    else:
        return default_arch_list(torch_archs, supported)
    for arch in archs:
        major, minor = ARCH.match(arch).groups()[:2]
        if f'{major}.{minor}' not in supported:
            raise CudaSetupError(
                f'TORCH_CUDA_ARCH_LIST: nvcc does not compile for {arch}; it '
                f'compiles for {" ".join(sorted(supported, key=float))}')
    return archs


def cache_key(torch_version: str, python: Sequence[int], machine: str,
              cuda: Optional[Version] = None,
              archs: Sequence[str] = ()) -> str:
    """The wheel-cache key: torch, Python, CUDA and its archs, machine.

    >>> cache_key('2.14.1+cu130', (3, 11), 'x86_64', (13, 0), ['9.0'])
    'torch2.14.1-py311-cu130-sm90-x86_64'
    """
    key = f'torch{torch_version.split("+")[0]}-py{python[0]}{python[1]}'
    if cuda is None:
        return f'{key}-cpu-{machine}'
    sms = '_'.join(
        a.replace('.', '').replace('+PTX', 'ptx') for a in sorted(
            archs, key=lambda a: (sm_version(a.split('+')[0]), a)))
    return f'{key}-cu{cuda[0]}{cuda[1]}-sm{sms}-{machine}'


def include_dirs(venv: str) -> List[str]:
    """Header folders of NVIDIA's wheels in ``venv``.

    torch's CUDA headers include cuBLAS/cuSPARSE/cuSOLVER ones
    (ATen/cuda/CUDAContextLight.h) that a bare nvcc install (a toolkit-only
    /usr/local/cuda, PyPI's nvcc) lacks; torch's own wheels carry them.
    """
    return sorted(glob.glob(osp.join(site_packages(venv), 'nvidia', '*',
                                     'include')))


def link_cudart(cuda_home: str, venv: str) -> Optional[str]:
    """A folder with ``libcudart.so`` for the linker's ``-lcudart``, or None
    when ``cuda_home`` has one. NVIDIA's wheels ship only the versioned
    ``libcudart.so.N``; the link goes into ``venv/.se_plugin_cuda/lib``."""
    for lib in ('lib64', 'lib'):
        if osp.exists(osp.join(cuda_home, lib, 'libcudart.so')):
            return None
    found = sorted(
        glob.glob(osp.join(cuda_home, 'lib*', 'libcudart.so.*')) +
        glob.glob(osp.join(site_packages(venv), 'nvidia', '*', 'lib',
                           'libcudart.so.[0-9]*')))
    if not found:
        raise CudaSetupError(f'no libcudart.so under {cuda_home} or the '
                             f'venv\'s nvidia wheels to link mmcv against')
    folder = osp.join(venv, '.se_plugin_cuda', 'lib')
    os.makedirs(folder, exist_ok=True)
    link = osp.join(folder, 'libcudart.so')
    if osp.lexists(link):
        os.remove(link)
    os.symlink(found[0], link)
    return folder


def run(cmd: List[str]) -> str:
    """stdout of ``cmd``; a failure is a CudaSetupError naming it."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise CudaSetupError(f'{" ".join(cmd)} failed: {err}') from err


def plan(venv: str, env: Mapping[str, str]) -> List[str]:
    """The shell lines for tools/setup_env.sh: ``variant=KEY`` and, for a
    CUDA build, its exports. Installs nvcc from PyPI when there is none."""
    import torch
    python, machine = sys.version_info[:2], platform.machine()
    num_gpus, driver_cuda = driver()
    if not cuda_wanted(env, num_gpus):
        return [f'variant={cache_key(torch.__version__, python, machine)}']
    if not torch.version.cuda:
        raise CudaSetupError(f'a CUDA build needs a CUDA build of torch; '
                             f'torch {torch.__version__} has none')
    torch_cuda = parse_version(torch.version.cuda, 'torch.version.cuda')
    if num_gpus:
        check_driver(driver_cuda, torch_cuda, torch.__version__)
    nvcc = find_nvcc(env, venv)
    if nvcc is None:
        packages = pypi_packages(torch_cuda)
        log(f'no nvcc found: installing {" ".join(packages)} into {venv}')
        pip = [osp.join(venv, 'bin', 'python'), '-m', 'pip', 'install',
               '--disable-pip-version-check', '-q', *packages]
        if subprocess.run(pip, stdout=sys.stderr).returncode:  # stdout: eval
            raise CudaSetupError(
                f'{" ".join(pip)} failed (pip\'s output is above): without '
                f'PyPI, point CUDA_HOME at a CUDA {version(torch_cuda)} '
                f'toolkit')
        nvcc = pypi_nvcc(venv)
        if nvcc is None:
            raise CudaSetupError(f'{" ".join(packages)} installed no nvcc '
                                 f'under {site_packages(venv)}/nvidia')
    check_nvcc(nvcc, torch_cuda, torch.__version__)
    capabilities = ([torch.cuda.get_device_capability(i)
                     for i in range(torch.cuda.device_count())]
                    if num_gpus else [])
    archs = choose_arch_list(env, capabilities, torch.cuda.get_arch_list(),
                             nvcc_archs(nvcc))
    cuda_home = cuda_home_of(nvcc)
    log(f'CUDA build: nvcc {nvcc} (CUDA {version(torch_cuda)}), archs '
        f'{";".join(archs)}')
    exports = dict(
        FORCE_CUDA='1',
        CUDA_HOME=cuda_home,
        TORCH_CUDA_ARCH_LIST=';'.join(archs))
    # Set only when non-empty: an empty CPATH entry means the current folder.
    cpath = ':'.join(include_dirs(venv) + [env.get('CPATH', '')]).strip(':')
    if cpath:
        exports['CPATH'] = cpath
    cudart = link_cudart(cuda_home, venv)
    if cudart:
        exports['LIBRARY_PATH'] = ':'.join(
            [cudart, env.get('LIBRARY_PATH', '')]).strip(':')
    key = cache_key(torch.__version__, python, machine, torch_cuda, archs)
    return ([f'export {k}={shlex.quote(v)}' for k, v in exports.items()] +
            [f'variant={key}'])


def main(argv: List[str]) -> int:
    if argv[:1] == ['plan'] and len(argv) == 2:
        print('\n'.join(plan(osp.abspath(argv[1]), os.environ)))
        return 0
    print(__doc__.split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except CudaSetupError as err:
        log(f'error: {err}')
        sys.exit(1)
