"""tools/misc/gpu_check.py where there is no GPU: it says so and fails; and
its step runner reports a failing step without stopping the others."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import time

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'gpu_check.py')
spec = importlib.util.spec_from_file_location('gpu_check', SCRIPT)
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


@pytest.mark.slow  # a Python subprocess
def test_without_gpu_it_says_so_and_exits_2(tmp_path):
    work = tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, SCRIPT, '--work-dir', str(work)], cwd=REPO,
        capture_output=True, text=True,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'gpu_check: no GPU' in proc.stdout
    assert 'nothing was checked' in proc.stdout
    assert not work.exists()  # no step ran


def test_a_failing_step_is_a_fail_row_and_the_rest_run(capsys):
    def boom():
        raise RuntimeError('kept 3 boxes on cuda, 4 on cpu')

    ran = []
    steps = [
        ('ops', 'first', lambda: 'figure 1'),
        ('ops', 'second', boom),
        ('amp', 'third', lambda: ran.append('third') or 'figure 3'),
        ('dist', 'skipped', lambda: ran.append('skipped') or ''),
    ]
    rows = gpu_check.run_steps(steps, skip=['dist'])
    assert [(r[0], r[1]) for r in rows] == [('first', 'PASS'),
                                            ('second', 'FAIL'),
                                            ('third', 'PASS')]
    assert ran == ['third']
    assert rows[1][3] == 'RuntimeError: kept 3 boxes on cuda, 4 on cpu'
    lines = gpu_check.table(rows).splitlines()
    assert lines[0].split() == ['step', 'result', 'seconds', 'figures']
    assert lines[2].startswith('second  FAIL')
    assert lines[2].endswith('kept 3 boxes on cuda, 4 on cpu')


def test_a_tool_past_its_timeout_is_stopped_with_its_children(tmp_path):
    pid_file = tmp_path / 'child.pid'
    start = time.time()
    with pytest.raises(RuntimeError, match='still running after 1s'):
        gpu_check.run_tool(
            ['bash', '-c', f'sleep 120 & echo $! > {pid_file}; wait'], 1)
    # Not waiting for the grandchild, which holds the output pipe open.
    assert time.time() - start < 60
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not running(child)  # the grandchild is stopped too


def running(pid):
    """Alive and not a zombie (killed, awaiting its new parent's reaping)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except FileNotFoundError:
        return False
