"""weipian: policy-as-data validator for 卫片执法 patch data.

Python API (the CLI only wraps it):

    from engine import load_policies, check
    policies = load_policies()                  # the bundled policies/, or a directory
    result = check("datasets/sample_2023.csv", policies, as_of="2024-06-30")
    result.findings, result.tasks, result.to_json()
"""
from engine.errors import InputError, PolicyError
from engine.policy.policyset import load_policies, load_policy
from engine.run.runner import check, check_records
from engine.version import __version__

__all__ = ["load_policies", "load_policy", "check", "check_records", "PolicyError", "InputError", "__version__"]
