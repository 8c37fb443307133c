"""The expression language, knowing no YAML and no files: grammar + parser → ast (walk, sexpr printer); types
(Type enum); functions (the one registry: signature + SQL template — a new DSL function goes there); scope +
resolve + typecheck (names, types, units); compiler (SQL, one method per node class); quoting; units (given by
the caller, from its dictionary). Imports: engine.errors only."""
