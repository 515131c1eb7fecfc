"""A dispatcher process settles its heap once started (app/dispatch/dispatcher.py: settle_heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from app.dispatch.dispatcher import BURST_GC_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_what_is_loaded_at_start_is_frozen_and_the_collector_waits_for_a_burst_sized_heap() -> None:
    kept = [{"loaded": n} for n in range(1000)]  # stands for modules, metadata and caches

    settle_heap()

    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == BURST_GC_THRESHOLD and BURST_GC_THRESHOLD[0] > 700  # Python's default
