"""The OCCI HTTP server: configuration, authentication, the ASGI app and `occi-server`.

This package is the thin HTTP glue of the house plan: it maps HTTP to the
service layer and never holds OCCI semantics itself.
"""
