"""The order service's contract: its port, errors, commands, events and gRPC definition."""
