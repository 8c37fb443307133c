"""Write results for people: text, xlsx, html, csv/json, atomic writes. Imports: engine.run (results), engine.data, base."""
