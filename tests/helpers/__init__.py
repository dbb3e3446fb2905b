"""Small programs the tests run in subprocesses (e.g. to be killed mid-write)."""
