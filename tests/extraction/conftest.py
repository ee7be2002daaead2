"""Extracting a service while the monolith runs: the parallel run, the cut-over and the drill.

They start from the phase-0 monolith on PostgreSQL and move a service out themselves, so they
run in `make test` only, not among the parity suites that every phase and embedded mode repeat.
"""

from tests.fixtures.kafka import kafka_bootstrap, kafka_topics  # noqa: F401  (a real broker)
from tests.saga.conftest import clean_broker, start_worker  # noqa: F401  (real checkouts)
