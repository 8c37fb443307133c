"""Loaded before every test (tests/ and policies/*/tests): the parse tree cache (engine/cache.py) goes to a temporary
directory of this session, never to the user's own cache."""
import os
import tempfile

os.environ["WEIPIAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="weipian-test-cache-")
