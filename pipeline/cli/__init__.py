"""The ``govpub`` command line, one module per command group.

The entry module is :mod:`pipeline.cli.main` (it gathers the core's groups and the
installed channel plug-ins' commands). Channel packages build their commands on
:mod:`pipeline.cli.context` (``pass_services``, ``settings_or_exit``) and never on the
entry module, which imports them.
"""
