"""Checking a loaded policy, in ordered passes (as a compiler's stages), each in its own module:

1. parameters   each value a typed constant
2. definitions  parsed, sorted by dependency (cycles reported there), typed dependencies first
3. entries      rules and triggers: `when` and `message`, names resolved and typed in the entry's scope;
                waivable (only row rules, with the clause that allows a reasoned exception)
4. assessments  region assessments and deductions
5. lints        unused parameters and definitions; the data fields the policy reads; absolute dates outside the
                policy year's window (dates)

A policy that passed every check before, unchanged (its files, the schema, the dictionary, the limits, weipian's
version: engine.policy.schema_cache.CheckedPolicies), is still built and typed (the runner needs its typed
expressions) but the checks that only report do not run again: its warnings are the kept ones.

Expressions are resolved and typed by engine.lang.typecheck against the policy's names (context.PolicyNames).
"""
from __future__ import annotations

import dataclasses

from engine.data.dictionary import Dictionary, fact_fields
from engine.errors import PolicyError
from engine.policy.check.assessments import check_assessments
from engine.policy.check.context import CheckContext
from engine.policy.check.dates import absolute_dates, fixed_not_dated, window_warnings
from engine.policy.check.definitions import check_definitions
from engine.policy.check.entries import check_entries
from engine.policy.check.lints import fields_of, unused
from engine.policy.check.parameters import check_parameters
from engine.policy.check.waivable import check_waivable
from engine.policy.loader import PolicySource
from engine.limits import LIMITS
from engine.policy.assessments import Assessment, Deduction, region_attr_types
from engine.policy.model import Policy
from engine.policy.schema_cache import CheckedPolicies, policy_key, schema_bytes

__all__ = ["check_policy", "fields_of", "CheckContext"]


_CONTEXT: list = []  # (dictionary, its context string) of the last check: a load checks every year with one dictionary


def _context(dictionary: Dictionary) -> str:
    """What the checks read besides the policy's files: the dictionary, region data and facts, the limits."""
    if not _CONTEXT or _CONTEXT[0] is not dictionary:
        parts = [getattr(dictionary, f.name) for f in dataclasses.fields(dictionary) if not f.name.startswith("by_")]
        _CONTEXT[:] = [dictionary, repr(parts)]
    return f"{_CONTEXT[1]}\n{region_attr_types()!r}\n{fact_fields()!r}\n{LIMITS!r}"


def check_policy(src: PolicySource, dictionary: Dictionary, *, reuse: bool = True) -> Policy:
    """Turn a loaded PolicySource into a typed Policy; raise PolicyError listing every problem. reuse=False: run
    every check even when the policy passed them before unchanged."""
    checked = CheckedPolicies(schema_bytes(), _context(dictionary))
    key = policy_key([f"{d}\0{d.resolve()}\0{y}" for d, y in zip(src.chain, src.chain_years)], src.texts)
    kept = checked.warnings(key) if reuse else None
    ctx = CheckContext(src, dictionary, report=kept is None)
    check_parameters(ctx)
    check_definitions(ctx)
    rules, triggers = check_entries(ctx)
    if ctx.report:
        check_waivable(ctx)
    entries = check_assessments(ctx, src.entries["assessments"])  # assessments and deductions, in file order
    errors = [d for d in ctx.diags if d.severity == "error"]
    ctx.trees.save()  # the trees of the expressions that parsed, also when another part of the policy is wrong
    if kept is not None:
        if errors:  # cannot be, with the same files: check afresh rather than trust the kept verdict
            return check_policy(src, dictionary, reuse=False)
        warnings = kept
    else:
        dated = absolute_dates(ctx.params, ctx.defs, rules + triggers, entries, dictionary.key[1])
        warnings = [d for d in ctx.diags if d.severity != "error"] + unused(ctx) + fixed_not_dated(ctx.params) \
            + window_warnings(dated, src, dictionary.key[1])
        errors = [d for d in ctx.diags if d.severity == "error"]
        if errors:
            raise PolicyError(errors + warnings)
        checked.keep(key, warnings)
    checks = rules + triggers
    return Policy(
        year=src.year,
        title=src.title,
        source=src.source,
        dir=src.dir,
        files=src.files,
        digest=src.digest(),
        file_hashes=src.file_hashes(),
        dictionary=dictionary,
        params=ctx.params,
        definitions=ctx.defs,
        rules=rules,
        triggers=triggers,
        assessments=[x for x in entries if isinstance(x, Assessment)],
        deductions=[x for x in entries if isinstance(x, Deduction)],
        entry_positions={x.id: i for i, x in enumerate(entries)},
        fields_used=fields_of([*(x.when for x in checks), *(n for x in checks for n in x.message if not isinstance(n, str))]
                              + [n for a in entries for n in a.nodes()]),
        warnings=warnings,
        region=src.region,
    )
