"""weipian: policy-as-data validator for 卫片执法 patch data.

Python API (the CLI only wraps it):

    from engine import load_policies, check
    policies = load_policies()                  # the bundled policies/, or a directory
    result = check("datasets/sample_2023.csv", policies, as_of="2024-06-30")
    result.findings, result.tasks, result.to_json()
"""
from engine.errors import InputError, PolicyError
from engine.version import __version__

__all__ = ["load_policies", "load_policy", "check", "check_records", "PolicyError", "InputError", "__version__"]


def __getattr__(name: str):
    """The API functions are imported on first use: `import engine.cli` (every command, `--help`) does not pay for
    the policy loader, DuckDB and the readers before it needs them."""
    if name in ("load_policies", "load_policy"):
        from engine.policy import policyset as module
    elif name in ("check", "check_records"):
        from engine.run import runner as module
    else:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value
