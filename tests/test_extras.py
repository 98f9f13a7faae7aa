"""zslab.extras: each extra's distributions come from zslab's own metadata (pyproject.toml), and
a full install (`make setup`: ``.[all,dev]``) misses none. The bare install's messages are
checked for real in ``tests/test_lean_install.py``."""

from __future__ import annotations

from typing import get_args

import pytest

from zslab.extras import Extra, distributions, missing, require


@pytest.mark.parametrize(
    ("extra", "distribution"),
    [("hub", "fastapi"), ("corpus", "pyarrow"), ("train", "torch"), ("lab", "jupyterlab")],
)
def test_an_extra_holds_what_pyproject_lists(extra: Extra, distribution: str) -> None:
    assert distribution in distributions(extra)


def test_train_includes_the_corpus_and_all_includes_every_extra() -> None:
    assert set(distributions("corpus")) <= set(distributions("train"))
    every = set().union(*(distributions(e) for e in ("hub", "corpus", "train", "lab")))
    assert set(distributions("all")) == every


@pytest.mark.parametrize("extra", get_args(Extra))
def test_the_dev_install_misses_no_extra(extra: Extra) -> None:
    assert missing(extra) == []
    require(extra, f"the {extra} extra")  # returns: nothing to complain about
