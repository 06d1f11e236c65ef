"""govpub's benchmark: figures printed, never asserted (``python -m bench``)."""
