"""The memory channel (records what it was given, for tests and the demo); see :mod:`.channel`."""
