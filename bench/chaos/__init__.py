"""The chaos run: the whole system under faults, checked against the sandboxes' own records."""
