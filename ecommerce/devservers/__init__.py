"""Local stand-ins for servers a deployment provides: the embedded mode's filesystem broker and
the local Kafka-compatible broker (Tansu)."""
