"""Checking a loaded policy, in ordered passes (as a compiler's stages), each in its own module:

1. parameters   each value a typed constant
2. definitions  parsed, sorted by dependency (cycles reported there), typed dependencies first
3. entries      rules and triggers: `when` and `message`, names resolved and typed in the entry's scope;
                waivable (only row rules, with the clause that allows a reasoned exception)
4. assessments  region assessments and deductions
5. lints        unused parameters and definitions; the data fields the policy reads; absolute dates outside the
                policy year's window (dates)

Expressions are resolved and typed by engine.lang.typecheck against the policy's names (context.PolicyNames).
"""
from __future__ import annotations

from engine.data.dictionary import Dictionary
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
from engine.policy.assessments import Assessment, Deduction
from engine.policy.model import Policy

__all__ = ["check_policy", "fields_of", "CheckContext"]


def check_policy(src: PolicySource, dictionary: Dictionary) -> Policy:
    """Turn a loaded PolicySource into a typed Policy; raise PolicyError listing every problem."""
    ctx = CheckContext(src, dictionary)
    check_parameters(ctx)
    check_definitions(ctx)
    rules, triggers = check_entries(ctx)
    check_waivable(ctx)
    entries = check_assessments(ctx, src.entries["assessments"])  # assessments and deductions, in file order
    dated = absolute_dates(ctx.params, ctx.defs, rules + triggers, entries, dictionary.key[1])
    warnings = [d for d in ctx.diags if d.severity != "error"] + unused(ctx) + fixed_not_dated(ctx.params) \
        + window_warnings(dated, src, dictionary.key[1])
    errors = [d for d in ctx.diags if d.severity == "error"]
    ctx.trees.save()  # the trees of the expressions that parsed, also when another part of the policy is wrong
    if errors:
        raise PolicyError(errors + warnings)
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
