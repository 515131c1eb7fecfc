"""Browser journeys: the product walked as people walk it (see journey.py)."""
