"""The ``reviewdesk`` command line, one module per command group (see entry.py).

Kept empty so that ``reviewdesk gui`` imports only ``cli.args``, not every command's services.
"""
