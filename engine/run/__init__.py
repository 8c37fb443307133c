"""Evaluate policies on data: row SQL, assessment SQL, results, explain, diff. Imports: engine.lang, engine.data, engine.policy, base."""
