"""``%load_ext zslab``: request slices and run cells on them from a notebook.

Line magics::

    %zslab request h100:3g.40gb --hours 2     # granted (or waits in the queue), heartbeated
    %zslab leases                             # your live leases
    %zslab use lse_…                          # make another lease the current one
    %zslab release [lse_…]                    # give the current (or named) lease back

Cell magic::

    %%zslab on [lse_…] [--in df,model] [--out result]
    result = train(df, model)                 # runs on the slice's worker; prints stream back

Variables named in ``--in`` travel to the slice and those in ``--out`` come back (cloudpickle);
a failure shows the remote traceback and leaves the notebook's variables as they were.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
import threading
import time
import traceback
import uuid
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

__all__ = ["ZslabMagics", "load_ipython_extension"]

USAGE = """\
%zslab request SPEC [--hours H] [--priority interactive|batch] [--project P] [--wait S]
%zslab leases
%zslab use ID
%zslab release [ID]
%%zslab on [ID] [--in a,b] [--out c]"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # never SystemExit inside a notebook
        raise _UsageError(f"{message}\nusage:\n{USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="%zslab", add_help=False)
    verbs = parser.add_subparsers(dest="verb", parser_class=_Parser)
    request = verbs.add_parser("request", add_help=False)
    request.add_argument("spec")
    request.add_argument("--hours", type=float, default=None)
    request.add_argument("--priority", choices=["interactive", "batch"], default="interactive")
    request.add_argument("--project", default=None)
    request.add_argument("--wait", type=float, default=600.0, help="seconds to wait if queued")
    verbs.add_parser("leases", add_help=False)
    use = verbs.add_parser("use", add_help=False)
    use.add_argument("id")
    release = verbs.add_parser("release", add_help=False)
    release.add_argument("id", nargs="?")
    on = verbs.add_parser("on", add_help=False)
    on.add_argument("id", nargs="?")
    on.add_argument("--in", dest="inputs", default="")
    on.add_argument("--out", dest="outputs", default="")
    return parser


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if not name.isidentifier():
            raise _UsageError(f"{name!r} is not a variable name")
    return names


@magics_class
class ZslabMagics(Magics):
    """The ``%zslab`` line and cell magic (see the module docstring)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._lab: Any = None
        self.current: Any = None  # the Lease cells run on by default
        self._held: dict[str, Any] = {}  # leases this kernel heartbeats

    @property
    def lab(self) -> Any:
        if self._lab is None:
            import zslab

            self._lab = zslab.connect()
        return self._lab

    @line_cell_magic
    def zslab(self, line: str, cell: str | None = None) -> Any:
        from zslab.errors import ZslabError

        try:
            args = _parser().parse_args(shlex.split(line))
            if cell is not None:
                if args.verb != "on":
                    raise _UsageError(f"the cell magic is `%%zslab on`\nusage:\n{USAGE}")
                return self._on(args, cell)
            if args.verb is None or args.verb == "on":
                raise _UsageError(f"usage:\n{USAGE}")
            return getattr(self, f"_{args.verb}")(args)
        except _UsageError as exc:
            print(f"zslab: {exc}", file=sys.stderr)
        except ZslabError as exc:
            fix = f"\n  fix: {exc.fix}" if getattr(exc, "fix", None) else ""
            print(f"zslab: {type(exc).__name__}: {exc}{fix}", file=sys.stderr)
        return None

    # --- line verbs ----------------------------------------------------------------------

    def _request(self, args: argparse.Namespace) -> Any:
        lease = self.lab.request(
            args.spec, hours=args.hours, priority=args.priority, project=args.project
        )
        if lease.state == "queued":
            queue = lease.queue
            print(f"{lease.id} queued ({lease.data.reason}); position {queue and queue.position}")
            lease.wait(args.wait)
        self._hold(lease)
        from IPython.display import display

        from zslab.jupyter.widgets import LeaseCard

        # A live card in JupyterLab (countdown, renew, release); its text anywhere else.
        display(LeaseCard(lease, current=True))
        print("cells run there with %%zslab on")
        return lease

    def _leases(self, _: argparse.Namespace) -> list[Any]:
        leases = self.lab.leases(state="live", mine=True)
        if not leases:
            print("no live leases")
        from IPython.display import display

        from zslab.jupyter.widgets import LeaseCard

        for lease in leases:
            current = self.current is not None and lease.id == self.current.id
            # The held Lease, so that Release on the card also stops its heartbeats.
            display(LeaseCard(self._held.get(lease.id, lease), current=current))
        return leases

    def _use(self, args: argparse.Namespace) -> Any:
        lease = self.lab.lease(args.id)
        if lease.state not in {"granted", "active"}:
            raise _UsageError(f"lease {lease.id} is {lease.state}: {lease.data.reason}")
        self._hold(lease)
        print(f"cells now run on {lease.id} ({lease.spec})")
        return lease

    def _release(self, args: argparse.Namespace) -> Any:
        lease = self._lease(args.id)
        lease = self._held.pop(lease.id, lease)
        lease.release()
        if self.current is not None and self.current.id == lease.id:
            self.current = None
        print(f"{lease.id}: {lease.state}")
        return lease

    def _hold(self, lease: Any) -> None:
        held = self._held.setdefault(lease.id, lease)
        held.heartbeat()
        held.start_heartbeats()
        self.current = held

    def _lease(self, lease_id: str | None) -> Any:
        if lease_id:
            return self._held.get(lease_id) or self.lab.lease(lease_id)
        if self.current is None:
            raise _UsageError("no current lease: `%zslab request SPEC` or `%zslab use ID` first")
        return self.current

    # --- the cell on a slice -------------------------------------------------------------

    def _on(self, args: argparse.Namespace, cell: str) -> None:
        import cloudpickle

        lease = self._lease(args.id)
        assert self.shell is not None
        user_ns = self.shell.user_ns
        inputs, outputs = _names(args.inputs), _names(args.outputs)
        missing = [name for name in inputs if name not in user_ns]
        if missing:
            raise _UsageError(f"--in names undefined variable(s): {', '.join(missing)}")
        payload = cloudpickle.dumps({name: user_ns[name] for name in inputs})
        client = lease.client
        topic = f"zslab-cell-{uuid.uuid4().hex}"
        done = threading.Event()

        def relay(event: Any) -> None:
            message = event[1] if isinstance(event, tuple) else event
            if message.get("done"):
                done.set()
                return
            stream = sys.stderr if message.get("stream") == "stderr" else sys.stdout
            stream.write(message.get("text", ""))
            stream.flush()

        client.subscribe_topic(topic, relay)
        try:
            future = lease.submit(_run_cell, cell, payload, outputs, topic, key=topic)
            try:
                returned = future.result()
            except Exception as exc:
                done.wait(2)  # let what the cell printed before failing arrive first
                print(f"Error on lease {lease.id}:", file=sys.stderr)
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
                return None
            done.wait(5)
        finally:
            client.unsubscribe_topic(topic)
        user_ns.update(cloudpickle.loads(returned))
        return None


class _Relay(io.TextIOBase):
    """A stream that sends what is written to the client, line by line (or on flush)."""

    def __init__(self, worker: Any, topic: str, stream: str) -> None:
        self.worker, self.topic, self.stream = worker, topic, stream
        self._buffer = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            if "\n" in self._buffer:
                head, _, self._buffer = self._buffer.rpartition("\n")
                self._send(head + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._buffer:
                self._send(self._buffer)
                self._buffer = ""

    def _send(self, text: str) -> None:
        self.worker.log_event(self.topic, {"stream": self.stream, "text": text})


def _run_cell(code: str, payload: bytes, outputs: list[str], topic: str) -> bytes:
    """On the slice worker: run ``code`` with the inputs, stream its output, return outputs."""
    import cloudpickle
    from distributed import get_worker

    worker = get_worker()
    namespace: dict[str, Any] = {"__name__": "__zslab_cell__"}
    namespace.update(cloudpickle.loads(payload))
    out, err = _Relay(worker, topic, "stdout"), _Relay(worker, topic, "stderr")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            exec(compile(code, "<%%zslab on>", "exec"), namespace)
    finally:
        out.flush()
        err.flush()
        time.sleep(0)  # let the relayed lines go out before the done marker
        worker.log_event(topic, {"done": True})
    missing = [name for name in outputs if name not in namespace]
    if missing:
        raise NameError(f"--out names variable(s) the cell did not set: {', '.join(missing)}")
    return bytes(cloudpickle.dumps({name: namespace[name] for name in outputs}))


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(ZslabMagics)
