"""The journey console: pages served by the edge that show the running platform and drive it
through the public API."""
