"""Policy YAML files -> typed, checked `Policy`: marks, loading/extends, checking in ordered passes (check/),
assessments, policy sets. Imports: engine.lang, engine.data (dictionary, regions), base."""
