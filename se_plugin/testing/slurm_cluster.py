"""A one-node Slurm cluster on localhost, for testing the Slurm launchers.

:func:`start_cluster` installs Slurm and munge with apt-get when they are
missing, writes a ``slurm.conf`` for this machine (its CPU layout from
``slurmd -C``, free ports, state and logs in a given folder, a partition
``debug``) and starts ``munged``, ``slurmctld`` and ``slurmd`` in the
foreground as child processes; :meth:`SlurmCluster.stop` cancels every job
and stops them. Clients (``srun``, ``sbatch``, ``scontrol``) find the
cluster through ``SLURM_CONF`` in :attr:`SlurmCluster.env`. Every wait is
bounded. Needs root (the daemons run as root, as in CI containers).
"""
import os
import os.path as osp
import shutil
import socket
import subprocess
import time
from typing import Dict, List

PACKAGES = ('slurm-wlm', 'munge')
COMMANDS = ('munged', 'slurmctld', 'slurmd', 'srun', 'sbatch', 'scontrol',
            'sinfo')
PARTITION = 'debug'


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be installed here (no apt-get, or not root)."""


def ensure_installed(timeout: float = 900) -> None:
    """Install ``slurm-wlm`` and ``munge`` with apt-get when a command is
    missing.

    Args:
        timeout (float): Seconds allowed for each apt-get call.

    Raises:
        SlurmUnavailable: this is not root, or Slurm is missing and there
            is no apt-get.
        RuntimeError: apt-get failed (its last lines are in the message).
    """
    if os.geteuid() != 0:
        raise SlurmUnavailable('the test cluster runs munged, slurmctld and '
                               'slurmd as root; this is not root')
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if not missing:
        return
    if shutil.which('apt-get') is None:
        raise SlurmUnavailable(f'{", ".join(missing)} missing and no apt-get '
                               f'to install {" ".join(PACKAGES)}')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for cmd in (['apt-get', 'update'],
                ['apt-get', 'install', '-y', '--no-install-recommends',
                 *PACKAGES]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=timeout)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError(f'{" ".join(cmd)} failed: ' + ' | '.join(tail))


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def node_layout() -> Dict[str, str]:
    """This machine's CPUs, boards, sockets, cores and threads as
    ``slurmd -C`` reports them (e.g. ``{'CPUs': '2', ...}``)."""
    out = subprocess.run(['slurmd', '-C'], capture_output=True, text=True,
                         timeout=60).stdout
    fields = dict(kv.split('=', 1) for kv in out.split()
                  if '=' in kv)
    keys = ('CPUs', 'Boards', 'SocketsPerBoard', 'CoresPerSocket',
            'ThreadsPerCore')
    if not all(k in fields for k in keys):
        raise RuntimeError(f'slurmd -C: unexpected output: {out!r}')
    return {k: fields[k] for k in keys}


def plugin_dir() -> str:
    """Where Debian installs Slurm's plugins."""
    found = [d for d in ('/usr/lib/x86_64-linux-gnu/slurm-wlm',
                         '/usr/lib/aarch64-linux-gnu/slurm-wlm',
                         '/usr/lib/slurm-wlm', '/usr/lib64/slurm')
             if osp.isdir(d)]
    if not found:
        raise RuntimeError('no Slurm plugin folder found')
    return found[0]


class SlurmCluster:
    """A running one-node cluster; see :func:`start_cluster`.

    Args:
        root (str): Folder with ``slurm.conf``, state, spool and logs.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.conf = osp.join(root, 'slurm.conf')
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.node = socket.gethostname().split('.')[0]
        self.partition = PARTITION
        self.cpus = 0
        self._procs: List[subprocess.Popen] = []

    def run(self, *cmd: str, timeout: float = 60,
            **kwargs) -> subprocess.CompletedProcess:
        """Run a client command (``scontrol``, ``sbatch``, ...) against
        this cluster, with text output captured; ``env`` replaces
        :attr:`env` (keep its ``SLURM_CONF``)."""
        kwargs.setdefault('env', self.env)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    def version(self) -> str:
        """Slurm's version, e.g. ``'slurm-wlm 22.05.8'``."""
        return self.run('slurmd', '-V').stdout.strip()

    def job_state(self, job_id: str) -> str:
        """A job's state (``'PENDING'``, ``'RUNNING'``, ``'COMPLETED'``...)."""
        out = self.run('scontrol', 'show', 'job', job_id).stdout
        for field in out.split():
            if field.startswith('JobState='):
                return field.split('=', 1)[1]
        return 'UNKNOWN'

    def wait_job(self, job_id: str, timeout: float) -> str:
        """Wait until the job has ended; its final state."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.job_state(job_id)
            if state in ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT',
                         'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL'):
                return state
            time.sleep(1)
        raise TimeoutError(f'job {job_id} still {self.job_state(job_id)} '
                           f'after {timeout}s')

    def _write_conf(self) -> None:
        layout = node_layout()
        self.cpus = int(layout['CPUs'])
        r = self.root
        for d in ('state', 'spool', 'log'):
            os.makedirs(osp.join(r, d), exist_ok=True)
        lines = [
            'ClusterName=seplugintest',
            f'SlurmctldHost={self.node}(127.0.0.1)',
            f'SlurmctldPort={free_port()}',
            f'SlurmdPort={free_port()}',
            'SlurmUser=root',
            'SlurmdUser=root',
            'AuthType=auth/munge',
            'CredType=cred/munge',
            f'AuthInfo=socket={r}/munge.sock',
            f'StateSaveLocation={r}/state',
            f'SlurmdSpoolDir={r}/spool',
            f'SlurmctldPidFile={r}/slurmctld.pid',
            f'SlurmdPidFile={r}/slurmd.pid',
            f'SlurmctldLogFile={r}/log/slurmctld.log',
            f'SlurmdLogFile={r}/log/slurmd.log',
            f'PluginDir={plugin_dir()}',
            'ProctrackType=proctrack/linuxproc',
            'TaskPlugin=task/none',
            'SelectType=select/cons_tres',
            'SelectTypeParameters=CR_CPU',
            'MpiDefault=none',
            'ReturnToService=2',
            'JobRequeue=1',
            f'NodeName={self.node} NodeAddr=127.0.0.1 ' +
            ' '.join(f'{k}={v}' for k, v in layout.items()) +
            ' State=UNKNOWN',
            f'PartitionName={PARTITION} Nodes=ALL Default=YES '
            'MaxTime=INFINITE State=UP OverSubscribe=YES',
        ]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def _start(self, cmd: List[str], name: str) -> None:
        log = open(osp.join(self.root, 'log', f'{name}.out'), 'w')
        self._procs.append(subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env))
        log.close()

    def start(self, timeout: float = 60) -> None:
        """Write the config, start the three daemons and wait until the
        node is idle."""
        self._write_conf()
        key = osp.join(self.root, 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        r = self.root
        self._start(['munged', '--foreground', '--force',
                     f'--socket={r}/munge.sock', f'--key-file={key}',
                     f'--pid-file={r}/munged.pid',
                     f'--log-file={r}/log/munged.log',
                     f'--seed-file={r}/munge.seed'], 'munged')
        self._wait(lambda: osp.exists(f'{r}/munge.sock'), timeout, 'munged')
        self._start(['slurmctld', '-D', '-f', self.conf], 'slurmctld')
        self._start(['slurmd', '-D', '-f', self.conf, '-N', self.node],
                    'slurmd')

        def idle():
            out = self.run('sinfo', '-h', '-N', '-o', '%T', timeout=10)
            return out.returncode == 0 and out.stdout.strip() == 'idle'

        self._wait(idle, timeout, 'slurmctld and slurmd')

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            dead = [p.args[0] for p in self._procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f'{", ".join(dead)} exited; logs in '
                                   f'{self.root}/log: {self.logs()}')
            try:
                if ready():
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        raise TimeoutError(f'{what} not ready after {timeout}s; logs in '
                           f'{self.root}/log: {self.logs()}')

    def logs(self, lines: int = 5) -> str:
        """The last lines of every daemon's log, for error messages."""
        out = []
        for name in sorted(os.listdir(osp.join(self.root, 'log'))):
            with open(osp.join(self.root, 'log', name), errors='replace') as f:
                tail = f.read().strip().splitlines()[-lines:]
            out.append(f'[{name}] ' + ' | '.join(tail))
        return '\n'.join(out)

    def stop(self, timeout: float = 30) -> None:
        """Cancel every job, then stop the daemons (SIGTERM, then
        SIGKILL after ``timeout`` seconds)."""
        if self._procs and self._procs[-1].poll() is None:
            try:
                jobs = self.run('squeue', '-h', '-o', '%i', timeout=10)
                if jobs.stdout.split():
                    self.run('scancel', *jobs.stdout.split(), timeout=10)
                    self._wait_no_jobs(timeout)
            except (subprocess.TimeoutExpired, TimeoutError):
                pass
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        self._procs = []

    def _wait_no_jobs(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.run('squeue', '-h', '-o', '%i',
                            timeout=10).stdout.split():
                return
            time.sleep(0.5)


def start_cluster(root: str, timeout: float = 60) -> SlurmCluster:
    """Install Slurm if needed, and start a one-node cluster in ``root``.

    Args:
        root (str): An empty folder for the config, state and logs.
        timeout (float): Seconds to wait for the daemons.

    Returns:
        SlurmCluster: running; call ``stop()`` when done.

    Raises:
        SlurmUnavailable: Slurm is missing and cannot be installed here.

    Example:
        >>> cluster = start_cluster('/tmp/slurm')
        >>> cluster.run('srun', '-n2', 'hostname').stdout.split()
        ['vm', 'vm']
        >>> cluster.stop()
    """
    ensure_installed()
    cluster = SlurmCluster(root)
    try:
        cluster.start(timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster
