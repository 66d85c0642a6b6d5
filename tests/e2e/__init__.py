"""End-to-end tests: occi-server as a real process, driven over HTTP."""
