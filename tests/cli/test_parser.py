"""``zslab`` itself: the parser the noun modules build, its help, and how fast it starts."""

from __future__ import annotations

import argparse
import inspect
import io
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.cli.conftest import zslab_cli
from zslab.cli import NOUN_MODULES, build_parser, main, runtime
from zslab.cli._arguments import make_parents
from zslab.errors import ZslabError

# The order `zslab --help` has always listed them in; scripts and the README follow it.
NOUNS_IN_ORDER = [
    "up",
    "down",
    "status",
    "hub",
    "health",
    "me",
    "version",
    "token",
    "user",
    "org",
    "project",
    "pools",
    "slices",
    "usage",
    "reservations",
    "quota",
    "node",
    "inventory",
    "sim",
    "corpus",
    "templates",
    "run",
    "cases",
    "audit",
]


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf command of the parser, as ("project list", its parser)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                children = list(_commands(sub, f"{prefix}{name} "))
                yield from children or [(f"{prefix}{name}", sub)]


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, Any]]:
    """The subcommands of a parser (nouns of the root, verbs of a noun), hidden ones too."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _listed(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands a parser's help lists (hidden ones have no help line)."""
    return [
        choice.dest
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for choice in action._choices_actions
    ]


def _registered_by(module: ModuleType) -> argparse.ArgumentParser:
    """A bare root parser holding only what ``module.register`` adds."""
    root = argparse.ArgumentParser(prog="zslab")
    module.register(root.add_subparsers(dest="noun"), make_parents())
    return root


def test_every_listing_offers_json() -> None:
    listings = [
        (name, p)
        for name, p in _commands(build_parser())
        if name.split()[-1] in {"list", "ls", "members", "status"}
    ]
    assert len(listings) >= 8
    missing = [
        name for name, p in listings if not any("--json" in a.option_strings for a in p._actions)
    ]
    assert missing == []


def test_help_names_the_nouns() -> None:
    result = zslab_cli("--help")
    for noun in ("up", "down", "status", "hub", "token", "user", "org", "project", "audit"):
        assert noun in result.stdout


def test_help_lists_the_nouns_in_their_usual_order() -> None:
    assert _listed(build_parser()) == NOUNS_IN_ORDER


@pytest.mark.parametrize("module", NOUN_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_help_lists_every_command_a_noun_module_registers(module: ModuleType) -> None:
    parser = build_parser()
    nouns = dict(_subcommands(parser))
    own = _registered_by(module)

    for noun, sub in _subcommands(own):
        if noun not in _listed(own):
            continue  # hidden on purpose (an old spelling); tested where it lives
        assert noun in _listed(parser)
        assert _listed(nouns[noun]) == _listed(sub)
        for verb in _listed(sub):
            assert re.search(rf"^ +{re.escape(verb)}( |$)", nouns[noun].format_help(), re.M)


@pytest.mark.parametrize("module", NOUN_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_handler_of_a_noun_module_runs_a_command(module: ModuleType) -> None:
    handlers = {
        name
        for name, value in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("cmd_") and value.__module__ == module.__name__
    }
    wired = {p.get_default("handler").__name__ for _, p in _commands(_registered_by(module))}
    assert handlers == wired


def test_no_two_commands_share_a_handler_or_repeat_an_option() -> None:
    commands = list(_commands(build_parser()))
    # The review verbs of `zslab cases` share one handler and differ by the action they set.
    uses = Counter((p.get_default("handler"), p.get_default("action")) for _, p in commands)
    assert [key for key, count in uses.items() if count > 1] == []
    for name, parser in commands:
        options = [o for a in parser._actions for o in a.option_strings]
        assert len(options) == len(set(options)), name
        dests = [a.dest for a in parser._actions if not a.option_strings]
        assert len(dests) == len(set(dests)), name


def test_every_command_has_help() -> None:
    missing = [name for name, p in _commands(build_parser()) if not p.description]
    assert missing == []


def test_help_loads_no_heavy_library() -> None:
    heavy = [
        "torch",
        "transformers",
        "dask",
        "distributed",
        "fastapi",
        "sqlalchemy",
        "httpx",
        "pydantic",
        "polars",
        "pyarrow",
        "numpy",
        "papermill",
    ]
    code = (
        "import contextlib, io, json, sys\n"
        "from zslab.cli import main\n"
        "for argv in (['--help'], ['slices', '--help'], ['cases', 'publish', '--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_python_dash_m_zslab_cli_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zslab.cli", "version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("zslab ")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "<noun>" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (ZslabError("It broke.", fix="Mend it."), 1),
        (KeyboardInterrupt(), 130),
        (BrokenPipeError(), 0),
    ],
)
def test_main_turns_what_a_command_raises_into_an_exit_status(
    monkeypatch: pytest.MonkeyPatch, raised: BaseException, code: int
) -> None:
    def fail(args: argparse.Namespace) -> int:
        raise raised

    monkeypatch.setattr(runtime, "cmd_version", fail)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)  # main closes stderr after a broken pipe

    assert main(["version"]) == code
    if code == 1:
        assert err.getvalue() == "zslab: error: It broke.\n  fix: Mend it.\n"
