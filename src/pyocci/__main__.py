"""``python -m pyocci``: the ``occi`` command line client."""

from __future__ import annotations

from pyocci.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
