"""The payment service's contract: its port, errors, events and gRPC definition."""
