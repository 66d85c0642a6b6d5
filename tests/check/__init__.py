"""Tests of occi check: its machinery, and against servers that answer right and wrong."""
