"""The analytics suites run against a real Tansu broker started for the session."""

from tests.fixtures.kafka import kafka_bootstrap, kafka_topics  # noqa: F401
from tests.saga.conftest import clean_broker, start_worker  # noqa: F401  (real checkouts)
