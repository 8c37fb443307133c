"""`weipian serve`: a local web page where a clerk picks a policy year, drops a file, sees the column preview and
gets the HTML report and the ledger. Framework-free parts (uploads, zip unpacking, the calls into the engine) live
in `upload` and `work`; `app` is the only module that imports the optional web framework (Starlette)."""
