"""REST plumbing shared by every app's API: the error shape and the health endpoints."""
