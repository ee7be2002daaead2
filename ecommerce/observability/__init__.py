"""What every process reports: Prometheus metrics and health, OpenTelemetry traces, log lines."""
