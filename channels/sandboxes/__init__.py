"""Loopback stand-ins for the services govpub talks to (``govpub sandbox NAME``)."""
