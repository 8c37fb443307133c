"""`weipian generate`: the synthetic data generator lives with the data it makes (datasets/generator.py).

It carries the domain knowledge needed to synthesize realistic and violating rows (thresholds, dates,
categories), so it sits outside the engine, which knows only the DSL."""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache

from engine.paths import datasets_dir


@lru_cache(maxsize=1)
def load_generator():
    """The datasets/generator.py module (bundled beside the data in a source checkout or a wheel)."""
    path = datasets_dir() / "generator.py"
    spec = importlib.util.spec_from_file_location("weipian_generator", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


def register(sub) -> None:
    load_generator().register(sub)
