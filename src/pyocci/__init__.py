"""pyocci: the OCCI 1.2 stack for Python.

`pyocci.model` holds the OCCI Core, Infrastructure and EGI extension model;
`pyocci.rendering` parses and renders it in every OCCI media type.
"""

__version__ = "0.1.0"
