"""What watches a server follows its configuration; with metrics off, prometheus-client is
not even imported (it must be imported after the multiprocess directory is set)."""

from __future__ import annotations

import subprocess
import sys

from pyocci.backends.measured import MeasuredBackend
from pyocci.backends.memory.backend import MemoryBackend
from pyocci.model.standard import standard_model
from pyocci.server.config import load_config
from pyocci.server.watching import watching_for

TOKEN = "0123456789abcdef0123"


def backend() -> MemoryBackend:
    return MemoryBackend(model=standard_model())


def test_nothing_watches_without_metrics_or_access_log() -> None:
    config = load_config(environ={"PYOCCI_ACCESS_LOG": "false"})
    assert watching_for(config, backend()) is None


def test_the_access_log_alone_watches_without_metrics() -> None:
    watching = watching_for(load_config(environ={}), backend())
    assert watching is not None
    assert watching.metrics is None and watching.page is None
    assert watching.observer.metrics is None and watching.observer.access
    assert isinstance(watching.backend, MeasuredBackend)
    assert watching.backend.observer is None


def test_metrics_on_the_occi_port_have_a_page() -> None:
    environ = {"PYOCCI_METRICS_ENABLED": "true", "PYOCCI_METRICS_TOKEN": TOKEN}
    watching = watching_for(load_config(environ=environ), backend())
    assert watching is not None and watching.page is not None
    assert watching.page.token == TOKEN
    assert watching.backend.observer == watching.metrics.backend_call


def test_metrics_on_a_port_of_their_own_have_no_page_here() -> None:
    environ = {"PYOCCI_METRICS_ENABLED": "true", "PYOCCI_METRICS_PORT": "9464"}
    watching = watching_for(load_config(environ=environ), backend())
    assert watching is not None and watching.metrics is not None
    assert watching.page is None


def test_serving_without_metrics_does_not_import_prometheus_client() -> None:
    code = (
        "import sys\n"
        "import pyocci.server.app, pyocci.server.cli, pyocci.server.logs\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
