"""Evaluate policies on data: row SQL, assessment SQL, typed result rows (rows.py), results, explain, diff. Imports: engine.lang, engine.data, engine.policy, base."""
