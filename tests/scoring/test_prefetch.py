"""The batch's read-ahead: items in order, errors raised where they happened, the producer
stopped when the consumer stops, and never used where a second connection sees nothing."""

import gc
import threading
from contextlib import closing

import pytest

from scoring.prefetch import collector_paused, prefetch_possible, prefetched


def test_items_arrive_in_order_produced_on_another_thread():
    threads = []

    def produce():
        for i in range(50):
            threads.append(threading.current_thread().name)
            yield i

    assert list(prefetched(produce())) == list(range(50))
    assert set(threads) == {"scoring-prefetch"}


def test_a_producer_error_is_raised_to_the_consumer_after_the_good_items():
    def produce():
        yield 1
        yield 2
        raise ValueError("bad chunk")

    seen = []
    with pytest.raises(ValueError, match="bad chunk"):
        for item in prefetched(produce()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_stops_the_producer():
    produced = []

    def produce():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in prefetched(produce(), depth=1):
        if item == 3:
            break
    # The producer ran at most a couple of items ahead and its thread is gone.
    assert len(produced) <= 6
    assert not any(t.name == "scoring-prefetch" for t in threading.enumerate())


@pytest.mark.django_db
def test_not_inside_a_transaction_nor_on_an_in_memory_database():
    # Unit tests run inside a transaction on an in-memory SQLite database: both rule it out.
    assert prefetch_possible() is False


def test_the_collector_is_paused_and_restored():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError
    assert gc.isenabled()


def test_closing_after_a_consumer_error_stops_the_producer_at_once():
    source = prefetched(iter(range(1000)))
    with pytest.raises(RuntimeError), closing(source):
        for _item in source:
            raise RuntimeError("write failed")
    assert not any(t.name == "scoring-prefetch" for t in threading.enumerate())
