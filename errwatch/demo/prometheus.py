"""A real Prometheus on a free loopback port, with a temporary TSDB and a 1 s scrape."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from errwatch.demo.process import Service, free_port, spawn, terminate, wait_until_ok


def find_binary(name: str) -> str | None:
    """``name`` on PATH or Debian's /usr/bin/``name``, else None."""
    found = shutil.which(name)
    if found:
        return found
    debian = Path("/usr/bin") / name
    return str(debian) if debian.exists() else None


def find_prometheus() -> str | None:
    """The Prometheus binary on PATH or Debian's /usr/bin/prometheus, else None."""
    return find_binary("prometheus")


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


class ScrapingServer(Service):
    """A PromQL engine process scraping ``targets``; ``restart()`` keeps its port and data."""

    name = "engine"
    ready_path = "/"

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
        self.log_path = workdir / f"{self.name}.log"
        self.config_path.write_text(scrape_config(targets, job=job, interval=scrape_interval))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def argv(self) -> list[str]:
        """The command line."""
        raise NotImplementedError

    def start(self, timeout: float = 15.0) -> None:
        """Start and wait until the ready path answers."""
        self._proc = spawn(self.argv(), log=self.log_path)
        wait_until_ok(f"{self.url}{self.ready_path}", self._proc, self.log_path, timeout)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        if self._proc is not None:
            terminate(self._proc)
            self._proc = None


class PrometheusServer(ScrapingServer):
    """One Prometheus process with a temporary TSDB."""

    name = "prometheus"
    ready_path = "/-/ready"

    def argv(self) -> list[str]:
        """Prometheus on loopback, its TSDB in the work directory."""
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]
