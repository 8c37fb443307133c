"""Policy YAML files -> typed, checked `Policy`: marks, loading/extends, checking, assessments, policy sets. Imports: engine.lang, engine.data (dictionary, regions), base."""
