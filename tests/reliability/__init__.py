"""The reliability suite: occi-server probed as an attacker and a careless user would.

Each module here is both a bounded test run in CI and a tool that
``bench/reliability.py`` runs at full scale, reporting `figures.Figure` rows.
"""
