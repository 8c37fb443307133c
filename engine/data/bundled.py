"""The bundled data dictionary's units, for callers with no policy set (and so no dictionary) at hand.
Code that has a policy should use `policy.dictionary.units` instead."""
from __future__ import annotations

from engine.data.dictionary import load_dictionary
from engine.lang.units import Units


def default_units() -> Units:
    """Area units of the bundled dictionary (schemas/fields.yaml)."""
    return load_dictionary().units


AREA_UNIT: str = default_units().carried  # read by engine/cli/assess.py's renderer
