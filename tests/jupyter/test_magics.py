"""``%load_ext zslab`` in a real IPython shell against a real hub, scheduler and slice workers."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tests.conftest import HubHandle, run_hub, until


class Timed(io.StringIO):
    """A stream that remembers when each piece of text arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.arrivals.append((time.monotonic(), text))
            return super().write(text)

    def first(self, needle: str) -> float:
        return next(at for at, text in self.arrivals if needle in text)


@pytest.fixture
def hub(tmp_path: Path, scheduler: str) -> Iterator[HubHandle]:
    handle = run_hub(tmp_path, scheduler)
    yield handle
    handle.stop()


@pytest.fixture
def shell(hub: HubHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("ZSLAB_URL", hub.url)
    monkeypatch.setenv("ZSLAB_TOKEN", hub.admin_token)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "zslab")
    yield ip
    magics = ip.magics_manager.registry["ZslabMagics"]
    for lease in list(magics._held.values()):
        if lease.state in {"granted", "active"}:
            lease.release()
    magics._held.clear()
    magics.current = None
    magics._lab = None
    ip.user_ns.clear()


@pytest.fixture
def streams() -> Iterator[tuple[Timed, Timed]]:
    """sys.stdout and sys.stderr replaced for the test's call (pytest's own capture resets
    them between phases, so the swap happens when the test body first writes)."""
    out, err = Timed(), Timed()
    yield out, err


@contextmanager
def redirected(streams: tuple[Timed, Timed]) -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def test_request_then_a_cell_runs_on_the_slice_with_variables_in_and_out(
    shell: InteractiveShell, streams: tuple[Timed, Timed]
) -> None:
    with redirected(streams):
        out, _ = streams
        lease = shell.run_line_magic("zslab", "request h100:1g.10gb --hours 1")
        assert lease is not None and lease.state in {"granted", "active"}
        shell.user_ns["numbers"] = [1, 2, 3]

        shell.run_cell_magic(
            "zslab",
            "on --in numbers --out total,where",
            "import os\ntotal = sum(numbers) * 2\nwhere = os.environ['ZSLAB_LEASE_ID']\n"
            "print('summed', total)",
        )

        assert shell.user_ns["total"] == 12
        assert shell.user_ns["where"] == lease.id
        assert "summed 12" in out.getvalue()


def test_a_cells_prints_stream_back_while_it_runs(
    shell: InteractiveShell, streams: tuple[Timed, Timed]
) -> None:
    with redirected(streams):
        out, err = streams
        shell.run_line_magic("zslab", "request t4:0.5 --hours 1")

        shell.run_cell_magic(
            "zslab",
            "on",
            "import sys, time\nprint('first')\ntime.sleep(3)\nprint('oops', file=sys.stderr)\n"
            "print('second')",
        )
        returned = time.monotonic()

        assert out.first("second") - out.first("first") >= 2.5  # not all at the end
        assert returned - out.first("first") >= 2.5
        assert "oops" in err.getvalue()


def test_a_failing_cell_shows_the_remote_traceback_and_keeps_variables(
    shell: InteractiveShell, streams: tuple[Timed, Timed]
) -> None:
    with redirected(streams):
        _, err = streams
        shell.run_line_magic("zslab", "request h100:1g.10gb --hours 1")
        shell.user_ns["kept"] = "before"

        shell.run_cell_magic("zslab", "on --out kept", "print('about to fail')\nkept = 1 / 0")

        assert shell.user_ns["kept"] == "before"
        text = err.getvalue()
        assert "ZeroDivisionError" in text and "<%%zslab on>" in text


def test_leases_use_and_release(shell: InteractiveShell, streams: tuple[Timed, Timed]) -> None:
    with redirected(streams):
        out, _ = streams
        first = shell.run_line_magic("zslab", "request h100:1g.10gb --hours 1")
        second = shell.run_line_magic("zslab", "request t4:0.25 --hours 1")

        listed = shell.run_line_magic("zslab", "leases")
        assert {lease.id for lease in listed} == {first.id, second.id}
        assert f"* lease {second.id}" in out.getvalue()  # the newest is current

        shell.run_line_magic("zslab", f"use {first.id}")
        shell.run_cell_magic(
            "zslab", "on --out who", "import os\nwho = os.environ['ZSLAB_LEASE_ID']"
        )
        assert shell.user_ns["who"] == first.id

        shell.run_line_magic("zslab", "release")
        until(lambda: first.refresh().state == "released")
        shell.run_line_magic("zslab", f"release {second.id}")
        assert second.refresh().state == "released"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "usage:"),
        ("fly", "invalid choice"),
        ("request", "the following arguments are required: spec"),
        ("request h100:1 --hours many", "invalid float value"),
        ("release", "no current lease"),
        ("request h100:9g.99gb --hours 1", "InvalidInput"),
    ],
)
def test_bad_magic_lines_say_why_without_a_traceback(
    shell: InteractiveShell, streams: tuple[Timed, Timed], line: str, message: str
) -> None:
    with redirected(streams):
        _, err = streams

        result = shell.run_line_magic("zslab", line)

        assert result is None
        assert message in err.getvalue()
        assert "Traceback" not in err.getvalue()


def test_a_cell_naming_an_undefined_input_is_refused(
    shell: InteractiveShell, streams: tuple[Timed, Timed]
) -> None:
    with redirected(streams):
        _, err = streams
        shell.run_line_magic("zslab", "request h100:1g.10gb --hours 1")

        shell.run_cell_magic("zslab", "on --in nowhere", "print(nowhere)")

        assert "--in names undefined variable(s): nowhere" in err.getvalue()
