"""``python -m pyocci``: print a summary of the model pyocci serves.

The ``occi-server`` and ``occi`` commands point here until the server and
the CLI exist.
"""

from __future__ import annotations

import sys

from pyocci import __version__
from pyocci.model import Model, standard_model
from pyocci.model.extensions import crtp_templates


def summarize(model: Model) -> str:
    """A plain-text table of the kinds, mixins and actions of a model."""
    lines = [f"pyocci {__version__} - OCCI/1.2 model"]
    kinds = model.kinds
    mixins = model.mixins
    lines.append(f"{len(kinds)} kinds, {len(mixins)} mixins, {len(model.actions)} actions")
    lines.append("")
    lines.append("Kinds:")
    for kind in kinds:
        actions = " ".join(action.rsplit("#", 1)[1] for action in kind.actions)
        lines.append(
            f"  {kind.location or '-':<22} {kind.id}" + (f"  [{actions}]" if actions else "")
        )
    lines.append("")
    lines.append("Mixins:")
    for mixin in mixins:
        lines.append(f"  {mixin.location or '-':<34} {mixin.id}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the summary of the standard model with the CRTP resource templates."""
    model = standard_model()
    for template in crtp_templates():
        model.add(template)
    sys.stdout.write(summarize(model) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
