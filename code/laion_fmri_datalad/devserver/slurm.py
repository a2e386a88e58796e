"""A single-node SLURM on this machine for tests and benchmarks: munged on a socket of its
own, slurmctld and slurmd with a configuration in a directory of their own (``SLURM_CONF``),
the node at 127.0.0.1. Needs Debian's ``slurm-wlm`` and ``munge`` and root (slurmd
starts jobs as their users); ``unavailable()`` says why not where it cannot run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo", "scancel")
CONF = """\
ClusterName=laionfmri
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket.2
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _sbin_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def unavailable() -> str | None:
    """Why a local SLURM cannot run here, or None."""
    missing = [d for d in DAEMONS if shutil.which(d, path=_sbin_path()) is None]
    if missing:
        return (
            f"SLURM is not installed ({', '.join(missing)} missing; Debian: apt-get "
            "install slurm-wlm munge)"
        )
    if os.geteuid() != 0:
        return "a local SLURM needs root (slurmd runs jobs as their users)"
    if not Path("/etc/munge/munge.key").is_file():
        return "munge has no key (/etc/munge/munge.key)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_idle(env: dict[str, str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    state = ""
    while time.monotonic() < deadline:
        done = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
        state = done.stdout.strip()
        if done.returncode == 0 and state.startswith("idle"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the local SLURM node did not become idle in {seconds:.0f} s ({state!r})")


@contextmanager
def local_slurm(root: Path, cpus: int = 2, memory_mb: int = 4000) -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd under ``root``; yield the environment that
    points SLURM's commands at them (``SLURM_CONF``); cancel every job and stop them."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    root = Path(root).absolute()
    for sub in ("state", "spool", "log", "munge"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(
        CONF.format(
            host=host,
            root=root,
            cpus=cpus,
            memory=memory_mb,
            ctld_port=_free_port(),
            d_port=_free_port(),
        )
    )
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": _sbin_path()}
    munge = root / "munge"
    subprocess.run(
        [
            "munged",
            "--force",
            f"--socket={munge}/munge.socket.2",
            f"--pid-file={munge}/munged.pid",
            f"--log-file={munge}/munged.log",
            f"--seed-file={munge}/seed",
        ],
        env=env,
        check=True,
    )
    try:
        subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True)
        subprocess.run(["slurmd", "-f", str(conf)], env=env, check=True)
        _wait_idle(env, 30)
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--quiet", "--user=root"], env=env, check=False)
        for pidfile in (root / "slurmd.pid", root / "slurmctld.pid", munge / "munged.pid"):
            _stop(pidfile)


def _stop(pidfile: Path) -> None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
