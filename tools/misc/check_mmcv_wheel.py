"""Check an mmcv wheel that tools/setup_env.sh built and cached.

    python tools/misc/check_mmcv_wheel.py WHEEL [--expect cpu|cuda]

WHEEL is ``$SE_PLUGIN_CACHE/mmcv-2.1.0-KEY/mmcv-*.whl``. Printed, each a
PASS/FAIL line with its figures:

- the wheel's size and its ``mmcv/_ext`` library;
- the libraries ``_ext`` needs (ELF ``NEEDED``): a CUDA build needs
  ``libcudart``, a CPU build none of CUDA's;
- the CUDA code in ``_ext`` (``cuobjdump``, from CUDA_HOME, PATH or PyPI's
  ``nvidia-cuda-cuobjdump``): machine code (cubins) and PTX per arch, and
  the detector's kernels, RoIAlign forward/backward and NMS, with their
  host launchers;
- ``import mmcv._ext`` from the unpacked wheel in a fresh interpreter with
  no GPU visible (``CUDA_VISIBLE_DEVICES=''``), and mmcv's CPU NMS and
  RoIAlign there;
- the cache key: the wheel's folder is ``mmcv-VERSION-KEY`` with KEY what
  tools/misc/cuda_env.py makes for this torch, Python and the archs found.

Exit status 0 if every check passed, 1 otherwise.
"""
import argparse
import os
import os.path as osp
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import cuda_env  # noqa: E402  (a script beside this one, not a package)

# Kernels (device functions) and launchers (host functions) of the ops a
# Faster R-CNN needs.
KERNELS = ('roi_align_forward_cuda_kernel', 'roi_align_backward_cuda_kernel',
           'nms_cuda')
LAUNCHERS = ('ROIAlignForwardCUDAKernelLauncher',
             'ROIAlignBackwardCUDAKernelLauncher', 'NMSCUDAKernelLauncher')
CPU_OPS = '''
import torch, mmcv._ext
from mmcv.ops import nms, roi_align
assert not torch.cuda.is_available()
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60.,
                      60.]])
kept = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)[1].tolist()
assert kept == [0, 2], kept
feats = torch.arange(64.).reshape(1, 1, 8, 8)
out = roi_align(feats, torch.tensor([[0., 0., 0., 8., 8.]]), (2, 2), 1.0, 2,
                'avg', True)
assert out.shape == (1, 1, 2, 2) and out.std() > 0, out
# The strings the set-up and mmengine's env report read from _ext.
from mmcv.ops import get_compiler_version, get_compiling_cuda_version
print(mmcv._ext.__file__, get_compiler_version(), get_compiling_cuda_version())
'''


def cuobjdump() -> Optional[str]:
    """cuobjdump from CUDA_HOME, PATH, /usr/local/cuda or PyPI's wheel."""
    home = os.environ.get('CUDA_HOME', cuda_env.DEFAULT_CUDA_HOME)
    found = [osp.join(home, 'bin', 'cuobjdump'), shutil.which('cuobjdump')]
    found += [
        osp.join(p, 'nvidia', d, 'bin', 'cuobjdump') for p in sys.path
        for d in ('cu13', 'cuda_cuobjdump')
    ]
    return next((f for f in found if f and os.access(f, os.X_OK)), None)


def needed(library: str) -> List[str]:
    """The ELF NEEDED entries of ``library`` (readelf)."""
    out = cuda_env.run(['readelf', '-d', library])
    return re.findall(r'\(NEEDED\)\s+Shared library: \[(.+?)\]', out)


def has_cuda_code(library: str) -> bool:
    """Whether ``library`` has a ``.nv_fatbin`` section."""
    return '.nv_fatbin' in cuda_env.run(['readelf', '-S', '-W', library])


Archs = Dict[str, int]


def cuda_code(tool: str, library: str) -> Tuple[Archs, Archs, str]:
    """(cubins per arch, PTX per arch, the device code's symbols)."""
    elves = cuda_env.run([tool, '--list-elf', library])
    ptx = cuda_env.run([tool, '--list-ptx', library])

    def count(text: str) -> Archs:
        archs: Archs = {}
        for arch in re.findall(r'\.(sm_\d+[af]?)\.(?:cubin|ptx)', text):
            archs[arch] = archs.get(arch, 0) + 1
        return archs

    symbols = cuda_env.run([tool, '--dump-elf-symbols', library])
    return count(elves), count(ptx), symbols


def archs_of(cubins: Archs, ptx: Archs) -> List[str]:
    """The arch list the wheel was built for, as TORCH_CUDA_ARCH_LIST
    writes it (``9.0+PTX`` where there is PTX)."""
    archs = []
    for arch in sorted(set(cubins) | set(ptx), key=cuda_env.sm_version):
        suffix = arch.lstrip('sm_0123456789')  # sm_90a: 9.0a
        listed = '%d.%d' % cuda_env.sm_version(arch) + suffix
        archs.append(listed + ('+PTX' if arch in ptx else ''))
    return archs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('wheel')
    parser.add_argument('--expect', choices=['cpu', 'cuda'],
                        help='fail unless the wheel is this kind')
    args = parser.parse_args()
    rows: List[Tuple[str, bool, str]] = []

    def check(name: str, ok: bool, figures: str) -> None:
        rows.append((name, ok, figures))
        print(f'[check_mmcv_wheel] {"PASS" if ok else "FAIL"} {name}: '
              f'{figures}', flush=True)

    if not zipfile.is_zipfile(args.wheel):
        print(f'check_mmcv_wheel: {args.wheel}: not a wheel (zip) file',
              file=sys.stderr)
        return 1
    import torch
    with tempfile.TemporaryDirectory(prefix='mmcv_wheel_') as folder:
        with zipfile.ZipFile(args.wheel) as wheel:
            wheel.extractall(folder)
        libs = [f for f in os.listdir(osp.join(folder, 'mmcv'))
                if f.startswith('_ext') and f.endswith('.so')]
        size = os.path.getsize(args.wheel) / 2**20
        check('wheel', len(libs) == 1, f'{size:.1f} MiB, mmcv/'
              f'{libs[0] if libs else "_ext*.so missing"}')
        if len(libs) != 1:
            return 1
        lib = osp.join(folder, 'mmcv', libs[0])
        deps = needed(lib)
        cuda = has_cuda_code(lib)
        kind = 'cuda' if cuda else 'cpu'
        cudart = [d for d in deps if d.startswith('libcudart')]
        found = 'CUDA code in .nv_fatbin' if cuda else 'no CUDA code'
        check('kind', args.expect in (None, kind),
              f'{kind} build ({found})' +
              (f', expected {args.expect}' if args.expect else ''))
        check('NEEDED', bool(cudart) == cuda, ', '.join(deps))
        archs: List[str] = []
        if cuda:
            tool = cuobjdump()
            if tool is None:
                check('CUDA code', False, 'no cuobjdump: set CUDA_HOME to a '
                      'toolkit, or pip install nvidia-cuda-cuobjdump')
            else:
                cubins, ptx, symbols = cuda_code(tool, lib)
                archs = archs_of(cubins, ptx)
                check('CUDA code', bool(cubins), 'cubins ' + ', '.join(
                    f'{a} x{n}' for a, n in cubins.items()) + '; PTX ' +
                    (', '.join(f'{a} x{n}' for a, n in ptx.items())
                     or 'none'))
                missing = [k for k in KERNELS if k not in symbols]
                check('kernels', not missing, 'missing ' + ', '.join(missing)
                      if missing else ', '.join(KERNELS))
        exported = cuda_env.run(['nm', '-D', '-C', '--defined-only', lib])
        launchers = LAUNCHERS if cuda else ()
        missing = [s for s in launchers if s not in exported]
        check('launchers', not missing, 'missing ' + ', '.join(missing)
              if missing else (', '.join(launchers) or 'none (CPU build)'))
        proc = subprocess.run(
            [sys.executable, '-c', CPU_OPS], cwd=folder, capture_output=True,
            text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES='',
                                PYTHONPATH=os.pathsep.join(
                                    [folder] + sys.path[1:])))
        check('import mmcv._ext, CPU NMS and RoIAlign, no GPU',
              proc.returncode == 0 and proc.stdout.startswith(folder),
              proc.stdout.strip() if proc.returncode == 0 else
              proc.stderr.strip().splitlines()[-1])
    cuda_version = (cuda_env.parse_version(torch.version.cuda, 'torch')
                    if cuda else None)
    key = cuda_env.cache_key(torch.__version__, sys.version_info[:2],
                             platform.machine(), cuda_version, archs)
    folder = osp.basename(osp.dirname(osp.abspath(args.wheel)))
    check('cache key', folder.endswith('-' + key),
          f'folder {folder}, key for torch {torch.__version__} and the archs '
          f'found: {key}')
    return 0 if all(ok for _, ok, _ in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
