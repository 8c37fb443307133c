"""Write results for people: text (check, assess), xlsx, html, csv/json, atomic writes; the dictionary comes with the result. Imports: engine.run (results), engine.data, base."""
