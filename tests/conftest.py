"""Test-wide setup: the FOCUS CSV cache goes to a temporary folder (servers started by tests inherit it)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "FINOPS_FOCUS_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="finops-test-cache-")
    os.environ["FINOPS_FOCUS_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, True)
