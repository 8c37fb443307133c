"""pytest plugin: collect policy test YAML files (policies/<year>/tests/*.yaml) as test items."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from engine.testing.cases import describe_failures, load_cases, policy_dir_of, run_case


@lru_cache(maxsize=None)
def _policy(directory: str):
    from engine.policy.policyset import load_policy

    return load_policy(directory)


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".yaml", ".yml") and file_path.parent.name == "tests" and policy_dir_of(file_path) is not None:
        return PolicyTestFile.from_parent(parent, path=file_path)
    return None


class PolicyTestFile(pytest.File):
    def collect(self):
        policy = _policy(str(policy_dir_of(self.path)))
        for case in load_cases(self.path, policy):
            yield PolicyTestItem.from_parent(self, name=case.name, case=case, policy=policy)


class PolicyTestItem(pytest.Item):
    def __init__(self, *, case, policy, **kwargs):
        super().__init__(**kwargs)
        self.case, self.policy = case, policy

    def runtest(self):
        result = run_case(self.case, self.policy)
        if not result.passed:
            raise PolicyCaseFailure(result)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, PolicyCaseFailure):
            r = excinfo.value.result
            return f"{r.file}:{r.line} 用例「{r.name}」失败：\n" + "\n".join(describe_failures(r))
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, (self.case.line or 1) - 1, f"policy case: {self.name}"


class PolicyCaseFailure(Exception):
    def __init__(self, result):
        super().__init__("; ".join(result.failures))
        self.result = result
