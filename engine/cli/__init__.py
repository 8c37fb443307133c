"""The `weipian` command: argument parsing, calling the stages, exit codes; one module per command, listed in main.COMMANDS. Imports: every stage."""
