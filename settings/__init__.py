"""Settings: `base` plus one short overlay per way of running (embedded, services, test, production)."""
