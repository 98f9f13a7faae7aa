"""``python -m zslab.cli`` is the ``zslab`` command (as is ``python -m zslab``)."""

from zslab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
