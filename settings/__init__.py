"""Settings: `base` plus one short overlay per way of running (embedded, services, production)
and per test run (test: services mode; test_embedded: embedded mode)."""
