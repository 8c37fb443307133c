"""Policy test cases (policies/<year>/tests/*.yaml): loading, running, coverage, the pytest plugin. Imports: lower stages."""
