"""User files -> the typed `patches` table: data dictionary, regions, readers, normalization. Imports: engine.lang, engine.errors, engine.paths."""
