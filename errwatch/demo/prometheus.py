"""A real Prometheus on a free loopback port, with a temporary TSDB and a 1 s scrape."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from errwatch.demo.process import Service, free_port, spawn, terminate, wait_until_ok


def find_prometheus() -> str | None:
    """The Prometheus binary on PATH or Debian's /usr/bin/prometheus, else None."""
    found = shutil.which("prometheus")
    if found:
        return found
    debian = Path("/usr/bin/prometheus")
    return str(debian) if debian.exists() else None


def scrape_config(targets: Sequence[str], *, job: str, interval: str) -> str:
    """A Prometheus config (YAML is a superset of JSON) scraping ``targets``."""
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": job,
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    return json.dumps(config, indent=2)


class PrometheusServer(Service):
    """One Prometheus process; ``restart()`` keeps its port and TSDB."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        targets: Sequence[str],
        *,
        job: str = "api",
        scrape_interval: str = "1s",
        port: int | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "prometheus.yml"
        self.log_path = workdir / "prometheus.log"
        self.config_path.write_text(scrape_config(targets, job=job, interval=scrape_interval))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until /-/ready answers."""
        argv = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]
        self._proc = spawn(argv, log=self.log_path)
        wait_until_ok(f"{self.url}/-/ready", self._proc, self.log_path, timeout)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self._proc is not None:
            terminate(self._proc)
            self._proc = None
