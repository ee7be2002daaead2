"""Fault tests drive real workers, relays and brokers: the saga's and the analytics' fixtures."""

from tests.fixtures.kafka import kafka_bootstrap, kafka_topics  # noqa: F401
from tests.saga.conftest import clean_broker, start_worker  # noqa: F401
