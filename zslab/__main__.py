"""``python -m zslab`` is the ``zslab`` command."""

from zslab.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
