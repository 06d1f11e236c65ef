"""The operator console (``/console/``): server-rendered pages in Chinese for
operators (who act) and auditors (who read).

Modules: :mod:`.tables` (accounts, sessions, audit log), :mod:`.auth` (passwords,
sessions, CSRF, roles), :mod:`.audit`, :mod:`.queries` (indexed, paginated reads),
:mod:`.views` (pages) and :mod:`.actions` (retry, skip, retract). This package
imports nothing heavy, so :mod:`pipeline.db` can import its tables.
"""
