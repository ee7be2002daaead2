"""The contracts between services: what each one offers, raises, accepts and announces.

One package per service, each holding all of that service's contract and nothing else:

    <service>/port.py      the Protocol callers use (each method marked with its @rpc) and its DTOs
    <service>/errors.py    the domain errors its port may raise
    <service>/commands.py  the queue it listens on and the commands it takes (cart, order)
    <service>/events.py    the events it publishes
    <service>/v1/*.proto   the same port over gRPC (generated code: ecommerce/transports/grpc/gen)

and, shared by all of them, `errors.py` (the base classes), `keys.py` (the one rule for
operation keys), `remote.py` (the `@rpc` mark and the RPC table read from it), and `records.py`, `events.py` and
`commands.py`: commands and events are typed records, checked when written and when read. Standard library only: an app
implements its own contract and imports other services' contracts, never another app; the
resolver (`ecommerce.wiring.resolver`) hands a caller the in-process or the gRPC adapter of a port.
"""
