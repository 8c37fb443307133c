"""Loaded before every test (tests/ and policies/*/tests): the parse tree cache (engine/cache.py) goes to a temporary
directory of this session, removed at exit, never to the user's own cache."""
import atexit
import os
import shutil
import tempfile

os.environ["WEIPIAN_CACHE_DIR"] = _CACHE = tempfile.mkdtemp(prefix="weipian-test-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
