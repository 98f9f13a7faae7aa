"""zslab (智算 Lab): the notebook front door of an intelligent-computing cloud.

>>> import zslab
>>> lab = zslab.connect()        # doctest: +SKIP

Heavy modules (the SDK's HTTP stack, the hub, Dask, torch) load on first use, so importing
zslab stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zslab._version import __version__
from zslab.errors import (
    ApiError,
    BadRequest,
    ConfigError,
    Conflict,
    Forbidden,
    HubUnavailable,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServerError,
    StorageUnavailable,
    Unauthenticated,
    ZslabError,
)

if TYPE_CHECKING:
    from zslab.client import Lab, connect
    from zslab.record import record

__all__ = [
    "ApiError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "HubUnavailable",
    "InvalidInput",
    "Lab",
    "NotFound",
    "PayloadTooLarge",
    "ServerError",
    "StorageUnavailable",
    "Unauthenticated",
    "ZslabError",
    "__version__",
    "connect",
    "record",
]

_LAZY = {"connect": "zslab.client", "Lab": "zslab.client", "record": "zslab.record"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zslab' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension behind the lab extension (``zslab.jupyter.serverext``)."""
    return [{"module": "zslab.jupyter.serverext"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension, for `jupyter labextension develop`."""
    return [{"src": "labextension", "dest": "zslab-labextension"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext zslab``: the ``%zslab`` magics (see :mod:`zslab.jupyter.magics`)."""
    from zslab.jupyter.magics import load_ipython_extension as load

    load(ipython)
