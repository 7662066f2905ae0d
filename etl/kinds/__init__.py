"""The importable kinds, by the name the CLI and the app use."""

from __future__ import annotations

from etl.engine import Kind


def get_kind(name: str) -> Kind:
    from etl.kinds.appeals import Appeals
    from etl.kinds.enterprises import Enterprises
    from etl.kinds.others import OTHER_KINDS

    kinds = {"enterprises": Enterprises, "appeals": Appeals, **OTHER_KINDS}
    if name not in kinds:
        raise KeyError(name)
    return kinds[name]()
