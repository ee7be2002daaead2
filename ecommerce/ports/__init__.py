"""Ports: what each bounded context offers the others, as Protocols over frozen dataclasses.

Standard library only. An app is reached through its port and nothing else; the resolver
(`ecommerce.resolver`) hands a caller the in-process or the gRPC adapter that the phase names.
"""
