"""The running platform of tests/platform, for the scoping test of every route."""

from tests.platform.conftest import platform_for, platform_stack  # noqa: F401  (fixtures)
