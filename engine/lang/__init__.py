"""The expression language (grammar, AST, types, functions, type checking, SQL generation, units); knows no YAML and no files. Imports: engine.errors only."""
