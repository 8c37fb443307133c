"""The `weipian` command: argument parsing and exit codes, one module per command. Imports: every stage."""
