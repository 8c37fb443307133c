"""Policy YAML files -> typed, checked `Policy`: marks, loading/extends, checking in ordered passes (check/),
assessments, policy sets (carrying their dictionary), lint, git revisions, new-year scaffolds. Imports: engine.lang,
engine.data (dictionary, regions), base."""
