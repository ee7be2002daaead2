"""The platform suites that start every process of a phase need the broker and a saga worker."""

from tests.fixtures.kafka import kafka_bootstrap, kafka_topics  # noqa: F401
from tests.saga.conftest import clean_broker, start_worker  # noqa: F401
