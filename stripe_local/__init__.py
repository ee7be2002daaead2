"""A local Stripe-compatible server: the official SDK talks to it over real HTTP.

Stdlib only and independent of Django, so `make run` and the tests can start it as its own
process and stopping that process is an honest "Stripe is down".
"""
