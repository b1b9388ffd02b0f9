"""Table names in SQL text: only names Grannskap itself defines, checked and quoted."""

import re

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """Quote a table name that comes from our own asset names; refuse anything else."""
    if not _IDENT.match(name):
        raise ValueError(f"not a table name Grannskap defines: {name!r}")
    return f'"{name}"'
