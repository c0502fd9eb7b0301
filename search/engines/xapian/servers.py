"""Shards x replicas of ``xapian-tcpsrv`` on this machine, for trying and testing.

Each replica is a writable remote server (``--writable``: it serves searches and
takes the reindex's writes) over its own database folder, on a free port of one
interface. ``xapian-tcpsrv`` answers SIGTERM by signalling its whole process
group, so each one starts in a session of its own; stopping one signals its group,
which ends the server and the processes it forked for open connections.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import xapian

from search.errors import ReindexError
from search.shards import Replica, Shards

TCPSRV = "xapian-tcpsrv"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


@dataclass
class _Server:
    replica: Replica
    folder: Path
    process: subprocess.Popen[bytes] | None = None


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalCluster:
    """``shards`` x ``replicas`` servers under ``folder``, on ``host``."""

    def __init__(self, folder: Path, shards: int, replicas: int, host: str = "127.0.0.1") -> None:
        if shards < 1 or replicas < 1:
            raise ReindexError("a cluster needs at least one shard of one replica")
        if shutil.which(TCPSRV) is None:
            raise ReindexError(
                f"{TCPSRV} is missing: install Debian's xapian-tools (scripts/test does)"
            )
        self.servers = [
            [
                _Server(Replica(host, _free_port(host)), folder / f"shard{s}-replica{r}")
                for r in range(replicas)
            ]
            for s in range(shards)
        ]

    @property
    def shards(self) -> Shards:
        return Shards(tuple(tuple(server.replica for server in shard) for shard in self.servers))

    def start(self) -> Shards:
        """Start every server (creating empty databases) and wait until each answers."""
        for shard in range(len(self.servers)):
            for replica in range(len(self.servers[shard])):
                self.restart(shard, replica)
        return self.shards

    def restart(self, shard: int, replica: int) -> None:
        """Start one replica again on its port, over the database it had."""
        server = self.servers[shard][replica]
        if server.process is not None and server.process.poll() is None:
            return
        server.folder.parent.mkdir(parents=True, exist_ok=True)
        xapian.WritableDatabase(str(server.folder), xapian.DB_CREATE_OR_OPEN).close()
        log = open(server.folder / "tcpsrv.log", "ab")  # noqa: SIM115 (the child keeps it)
        server.process = subprocess.Popen(
            [TCPSRV, "--writable", "--interface", server.replica.host,
             "--port", str(server.replica.port), str(server.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        _wait_for(server, START_TIMEOUT_S)

    def kill(self, shard: int, replica: int) -> None:
        """Stop one replica at once (SIGKILL to its group), as a crash would."""
        self._stop(self.servers[shard][replica], signal.SIGKILL)

    def pause(self, shard: int, replica: int, paused: bool = True) -> None:
        """Freeze one replica (SIGSTOP to its group), as a hung machine would look:
        connections are accepted, nothing is answered; ``paused=False`` thaws it."""
        process = self.servers[shard][replica].process
        if process is not None:
            os.killpg(process.pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def stop(self) -> None:
        """Stop every server cleanly (SIGTERM, then SIGKILL past a few seconds)."""
        for shard in self.servers:
            for server in shard:
                self._stop(server, signal.SIGTERM)

    @staticmethod
    def _stop(server: _Server, sig: signal.Signals) -> None:
        process = server.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)  # a paused server cannot stop
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        server.process = None

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_for(server: _Server, timeout_s: float) -> None:
    """Until the server accepts connections; its log's end if it exits first."""
    deadline = time.monotonic() + timeout_s
    assert server.process is not None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = (server.folder / "tcpsrv.log").read_text(errors="replace")[-500:]
            raise ReindexError(f"{TCPSRV} on {server.replica} exited: {tail.strip()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((server.replica.host, server.replica.port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise ReindexError(f"{TCPSRV} on {server.replica} did not start in {timeout_s:g}s")
