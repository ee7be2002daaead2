"""gRPC plumbing shared by every service: channels, errors, messages, interceptors, the server."""
