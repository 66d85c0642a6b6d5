"""The ``occi`` command line client: argument parsing and printing over `pyocci.client`."""
