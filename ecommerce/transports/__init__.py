"""How services reach each other: gRPC calls (grpc/), commands over RabbitMQ (messaging, queues,
dead_letters) and events over Kafka (outbox, relay, kafka). No app is imported here."""
