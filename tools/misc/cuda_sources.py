"""Compile each CUDA source of an mmcv sdist with the build's exact flags.

    python tools/misc/cuda_sources.py MMCV_SRC [--archs 7.5,12.0]
        [--jobs N] [--full] [--out REPORT.md]

MMCV_SRC is an unpacked mmcv sdist, patched as tools/setup_env.sh patches
it for a CUDA build. The flags come from the build itself: mmcv's setup.py
runs with ``FORCE_CUDA=1``, ``MMCV_WITH_OPS=1`` and the set-up's CUDA
environment (tools/misc/cuda_env.py: nvcc, CPATH, the arch list), and torch's
extension builder writes its ``build.ninja``; a stand-in ``ninja`` keeps that
file and stops the build. Each ``cuda_compile`` line of it then runs at low
priority, in parallel:

- by default the front end only, ``nvcc -cuda`` with the device code
  compiled to PTX at ``-O0`` for the archs of ``--archs`` (default: the
  lowest and highest of the set-up's list): it parses and instantiates every
  kernel, which is where a newer torch or CUDA breaks a source, at a third
  of a full compile's time;
- with ``--full``, ``nvcc -c`` with every flag of the build (all archs,
  optimised, machine code): exactly the build's object.

The report lists each source with compiled / failed, seconds and the
compiler's first errors; the exit status is 1 if any failed.
"""
import argparse
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import cuda_env  # noqa: E402  (a script beside this one, not a package)

FAKE_NINJA = '''#!/bin/sh
if [ "$1" = "--version" ]; then echo 1.11.1; exit 0; fi
cp build.ninja "$SE_PLUGIN_NINJA_FILE"; exit 1
'''


def build_env(venv: str, archs: str) -> Dict[str, str]:
    """os.environ plus the CUDA set-up's exports for ``archs``."""
    env = dict(os.environ, FORCE_CUDA='1', MMCV_WITH_OPS='1')
    if archs:
        env['TORCH_CUDA_ARCH_LIST'] = archs
    for line in cuda_env.plan(venv, env):
        if line.startswith('export '):
            key, value = line[len('export '):].split('=', 1)
            env[key] = shlex.split(value)[0]
    return env


def ninja_file(src: str, env: Dict[str, str], folder: str) -> str:
    """The ``build.ninja`` torch writes for mmcv's ``_ext`` in ``src``."""
    with open(osp.join(folder, 'ninja'), 'w') as f:
        f.write(FAKE_NINJA)
    os.chmod(osp.join(folder, 'ninja'), 0o755)
    out = osp.join(folder, 'build.ninja')
    env = dict(env, SE_PLUGIN_NINJA_FILE=out,
               PATH=folder + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run(
        [sys.executable, 'setup.py', 'build_ext', '--build-temp',
         osp.join(folder, 'temp')], cwd=src, env=env, capture_output=True,
        text=True)
    if not osp.exists(out):
        raise RuntimeError(f'{src}/setup.py build_ext wrote no build.ninja '
                           f'(exit {proc.returncode}): '
                           f'{proc.stderr.strip()[-2000:]}')
    return out


def parse_ninja(path: str) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    """The variables and the (object, source) pairs of ``cuda_compile``."""
    text = open(path).read()
    variables = dict(re.findall(r'^(\w+) = (.*)$', text, re.M))
    sources = re.findall(r'^build (\S+): cuda_compile (\S+)$', text, re.M)
    if not sources:
        raise RuntimeError(f'{path} has no cuda_compile lines: was the '
                           f'build made with FORCE_CUDA=1?')
    return variables, sources


def command(variables: Dict[str, str], source: str, out: str, full: bool,
            archs: List[str]) -> List[str]:
    """The build's nvcc line for ``source``; the front end unless
    ``full``."""
    cflags = shlex.split(variables['cuda_cflags'])
    post = shlex.split(variables['cuda_post_cflags'])
    cflags = [f for f in cflags if f != '-c']
    if full:
        return [variables['nvcc'], *cflags, '-c', source, '-o', out, *post]
    post = [f for f in post if not f.startswith('-gencode')]
    gencode = [
        f'-gencode=arch=compute_{a},code=compute_{a}'
        for a in (x.replace('.', '') for x in archs)
    ]
    return [variables['nvcc'], *cflags, '-cuda', source, '-o', out, *post,
            *gencode, '-Xcicc', '-O0']


def compile_one(cmd: List[str],
                env: Dict[str, str]) -> Tuple[int, float, str]:
    """(exit status, seconds, the first error lines) of ``cmd``, niced."""
    start = time.time()
    proc = subprocess.run(['nice', '-n', '19', *cmd], env=env,
                          capture_output=True, text=True)
    errors = [
        line for line in (proc.stdout + proc.stderr).splitlines()
        if re.search(r'error|fatal', line, re.I)
    ]
    return proc.returncode, time.time() - start, '\n'.join(errors[:5])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='an unpacked, patched mmcv sdist')
    parser.add_argument('--archs', default='',
                        help='front-end archs, e.g. 7.5,12.0 (default: the '
                        'lowest and highest of the set-up\'s list)')
    parser.add_argument('--jobs', type=int, default=os.cpu_count())
    parser.add_argument('--full', action='store_true',
                        help='the whole compile, every arch')
    parser.add_argument('--out', help='write the report here too')
    args = parser.parse_args()
    venv = osp.dirname(osp.dirname(sys.executable))
    env = build_env(venv, os.environ.get('TORCH_CUDA_ARCH_LIST', ''))
    listed = [a.split('+')[0] for a in
              cuda_env.parse_arch_list(env['TORCH_CUDA_ARCH_LIST'])]
    archs = ([a for a in re.split(r'[,;\s]+', args.archs) if a]
             if args.archs else sorted({listed[0], listed[-1]}, key=float))
    with tempfile.TemporaryDirectory(prefix='cuda_sources_') as folder:
        variables, sources = parse_ninja(
            ninja_file(osp.abspath(args.src), env, folder))
        names = [osp.relpath(s, osp.abspath(args.src)) for _, s in sources]
        outs = [osp.join(folder, f'{i}.out') for i in range(len(sources))]
        cmds = [
            command(variables, s, o, args.full, archs)
            for (_, s), o in zip(sources, outs)
        ]

        def one(i: int) -> Tuple[int, float, str]:
            result = compile_one(cmds[i], env)
            if osp.exists(outs[i]):
                os.remove(outs[i])  # a front-end .ii is ~30 MB
            print(f'[cuda_sources] {names[i]}: '
                  f'{"compiled" if result[0] == 0 else "FAILED"} '
                  f'{result[1]:.0f}s', flush=True)
            return result

        start = time.time()
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(one, range(len(sources))))
    what = ('nvcc -c, every flag of the build' if args.full else
            f'nvcc -cuda front end, PTX -O0 for {", ".join(archs)}')
    failed = [n for n, r in zip(names, results) if r[0]]
    lines = [
        f'{len(sources)} CUDA sources, {what}; build arch list '
        f'{env["TORCH_CUDA_ARCH_LIST"]}; {len(failed)} failed; '
        f'{time.time() - start:.0f}s with {args.jobs} jobs', '',
        '| source | result | seconds | first errors |', '|---|---|---|---|'
    ]
    for name, (code, seconds, errors) in zip(names, results):
        lines.append(f'| {name} | {"compiled" if code == 0 else "failed"} | '
                     f'{seconds:.0f} | {errors.replace(chr(10), "<br>")} |')
    report = '\n'.join(lines)
    print(report)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(report + '\n')
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (cuda_env.CudaSetupError, RuntimeError) as err:
        print(f'cuda_sources: error: {err}', file=sys.stderr)
        sys.exit(1)
