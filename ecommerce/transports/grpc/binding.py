"""One gRPC client adapter and one servicer for every port, driven by the port's contract.

A port is a Protocol over dataclasses; its `.proto` has one RPC per method, whose request
message holds the method's parameters by name and whose response holds what it returns: either
the returned dataclass's own fields (`ListProducts` answers a `ProductPage`), or one field of
that type (`GetProduct` answers `{product: Product}`; a list is a repeated field, `X | None` an
optional one). The table in `ecommerce.contracts.remote` names each method's RPC and says whether a
retry is safe. From those three, `bind` works out the mapping once, and refuses a contract whose
parts do not agree (a method without its RPC, a parameter without its field), so a missing piece
fails at import, in every process and in the tests, never on the first call.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from ecommerce.contracts.remote import Rpc
from ecommerce.transports.grpc.channels import GrpcClient
from ecommerce.transports.grpc.messages import (
    Plan,
    fill,
    fill_values,
    from_message,
    plan_of,
    unwrap,
    values_from,
)


class BindingError(TypeError):
    """A port, its RPC table and its `.proto` disagree."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One port method bound to its RPC: how its arguments and its answer cross the wire."""

    method: str
    rpc: Rpc
    signature: inspect.Signature
    request_class: type[Message]
    request_plan: Plan
    response_class: type[Message]
    # The response's one field of the returned type, and its plan; None when it mirrors it.
    response_field: str | None
    response_plan: Plan
    returns: Any
    returns_list: bool

    def request(self, values: Mapping[str, Any]) -> Message:
        return fill_values(self.request_class(), self.request_plan, values.get)

    def arguments(self, request: Message) -> Mapping[str, Any]:
        return values_from(request, self.request_plan)

    def response(self, result: Any) -> Message:
        if self.response_field is None:
            return fill(self.response_class(), result)
        return fill_values(
            self.response_class(), self.response_plan, {self.response_field: result}.get
        )

    def result(self, response: Message) -> Any:
        if self.response_field is None:
            return from_message(self.returns, response)
        value = values_from(response, self.response_plan)[self.response_field]
        return list(value) if self.returns_list else value


def port_methods(protocol: type) -> list[str]:
    """The operations a Protocol declares, its own and those of the ports it extends (their
    public methods, in declaration order)."""
    names: dict[str, None] = {}
    for cls in reversed(protocol.__mro__):
        if cls.__module__ in ("builtins", "typing"):
            continue
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                names[name] = None
    return list(names)


def service_of(messages: ModuleType) -> ServiceDescriptor:
    """The one service a generated `*_pb2` module declares."""
    services = list(messages.DESCRIPTOR.services_by_name.values())
    if len(services) != 1:
        raise BindingError(f"{messages.__name__} declares {len(services)} services, not one")
    return services[0]


def _message_class(messages: ModuleType, descriptor: Any) -> type[Message]:
    cls = getattr(messages, descriptor.name, None)
    if cls is None or cls.DESCRIPTOR is not descriptor:
        raise BindingError(f"{descriptor.full_name} is not a top-level message of its file")
    return cls


def _field_names(cls: type[Message]) -> set[str]:
    return {field.name for field in cls.DESCRIPTOR.fields}


def _disagreement(field: Any, hint: Any) -> str | None:
    """Why the message field cannot carry a value of type `hint`, or None when it can."""
    kind, repeated = unwrap(hint)
    if repeated != field.is_repeated:
        return f"{field.name} is {'' if field.is_repeated else 'not '}repeated"
    message = field.message_type
    if dataclasses.is_dataclass(kind):
        names = {f.name for f in dataclasses.fields(kind)}
        if message is None or {f.name for f in message.fields} != names:
            return f"{field.name} does not mirror {kind.__name__}"
    elif kind is datetime:
        if message is None or message.full_name != "google.protobuf.Timestamp":
            return f"{field.name} is not a Timestamp"
    elif message is not None:
        return f"{field.name} is a {message.name}, not a {getattr(kind, '__name__', kind)}"
    return None


def _check_fields(where: str, cls: type[Message], typed: Mapping[str, Any]) -> None:
    for name, hint in typed.items():
        problem = _disagreement(cls.DESCRIPTOR.fields_by_name[name], hint)
        if problem:
            raise BindingError(f"{where}: {cls.DESCRIPTOR.name}.{problem}")


def _bind_one(
    protocol: type, method: str, rpc: Rpc, service: ServiceDescriptor, messages: ModuleType
) -> Binding:
    where = f"{protocol.__name__}.{method}"
    function = getattr(protocol, method)
    descriptor: MethodDescriptor | None = service.methods_by_name.get(rpc.name)
    if descriptor is None:
        raise BindingError(f"{where}: {service.full_name} has no rpc {rpc.name}")
    hints = typing.get_type_hints(function)
    signature = inspect.signature(function)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    request_class = _message_class(messages, descriptor.input_type)
    names = {p.name for p in parameters}
    if names != _field_names(request_class):
        raise BindingError(
            f"{where}: parameters {sorted(names)} but {request_class.DESCRIPTOR.name} has "
            f"fields {sorted(_field_names(request_class))}"
        )
    _check_fields(where, request_class, {p.name: hints[p.name] for p in parameters})
    response_class = _message_class(messages, descriptor.output_type)
    returns = hints["return"]
    response_fields = _field_names(response_class)
    mirrors = dataclasses.is_dataclass(returns) and response_fields == {
        f.name for f in dataclasses.fields(returns)
    }
    if mirrors:
        field, plan = None, ()
        _check_fields(where, response_class, typing.get_type_hints(returns))
    elif len(response_fields) == 1:
        (field,) = response_fields
        plan = plan_of([(field, returns)])
        _check_fields(where, response_class, {field: returns})
    else:
        raise BindingError(
            f"{where}: {response_class.DESCRIPTOR.name} neither mirrors {returns!r} nor holds "
            "one field of it"
        )
    return Binding(
        method=method,
        rpc=rpc,
        signature=signature,
        request_class=request_class,
        request_plan=plan_of((p.name, hints[p.name]) for p in parameters),
        response_class=response_class,
        response_field=field,
        response_plan=plan,
        returns=returns,
        returns_list=typing.get_origin(returns) is list,
    )


def bind(protocol: type, rpcs: Mapping[str, Rpc], messages: ModuleType) -> dict[str, Binding]:
    """Every method of `protocol` bound to its RPC in `messages`' service; BindingError when a
    method has no RPC, an RPC no method, or a message does not match."""
    service = service_of(messages)
    methods = port_methods(protocol)
    if missing := [m for m in methods if m not in rpcs]:
        raise BindingError(f"{protocol.__name__}: no RPC named for {', '.join(missing)}")
    if extra := [m for m in rpcs if m not in methods]:
        raise BindingError(f"{protocol.__name__}: RPCs named for no method: {', '.join(extra)}")
    bindings = {m: _bind_one(protocol, m, rpcs[m], service, messages) for m in methods}
    if unbound := set(service.methods_by_name) - {b.rpc.name for b in bindings.values()}:
        raise BindingError(f"{service.full_name}: no port method for {', '.join(sorted(unbound))}")
    return bindings


def _client_method(binding: Binding) -> Callable[..., Any]:
    signature = binding.signature
    rpc = binding.rpc
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    names = frozenset(p.name for p in parameters)
    required = frozenset(p.name for p in parameters if p.default is inspect.Parameter.empty)
    defaults = {p.name: p.default for p in parameters if p.name not in required}
    positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]

    def call(self: GrpcClient, *args: Any, **kwargs: Any) -> Any:
        # The two ways ports are called, all keywords or all positional, need no signature
        # binding; anything else binds, and raises TypeError as a plain call would.
        if args and not kwargs and len(args) <= len(positional):
            kwargs = dict(zip(positional, args, strict=False))
            args = ()
        if not args and required <= kwargs.keys() <= names:
            values = {**defaults, **kwargs} if defaults else kwargs
        else:
            arguments = signature.bind(self, *args, **kwargs)
            arguments.apply_defaults()
            values = arguments.arguments
        reply = self.call(
            rpc.name,
            binding.request(values),
            timeout=self.provider_deadline if rpc.calls_provider else None,
        )
        return binding.result(reply)

    call.__name__ = call.__qualname__ = binding.method
    call.__signature__ = signature  # type: ignore[attr-defined]
    return call


def grpc_client(
    protocol: type, rpcs: Mapping[str, Rpc], messages: ModuleType, *, service: str
) -> type[GrpcClient]:
    """The gRPC adapter class for `protocol`: each method sends its RPC through the channel's
    policy (deadline, retries where idempotent, the service token, domain errors rebuilt)."""
    bindings = bind(protocol, rpcs, messages)
    namespace: dict[str, Any] = {
        "__doc__": f"The {service} port over gRPC ({service_of(messages).full_name}).",
        # The module that asks for the class, as collections.namedtuple and make_dataclass do.
        "__module__": sys._getframe(1).f_globals.get("__name__", protocol.__module__),
        "service": service,
        "service_descriptor": service_of(messages),
        "messages": messages,
        "idempotent": frozenset(b.rpc.name for b in bindings.values() if b.rpc.idempotent),
    }
    for name, binding in bindings.items():
        method = _client_method(binding)
        method.__doc__ = getattr(protocol, name).__doc__
        namespace[name] = method
    adapter = type(f"Grpc{protocol.__name__.removesuffix('Port')}Adapter", (GrpcClient,), namespace)
    adapter.bindings = bindings
    return adapter


class PortServicer:
    """Serves a port's RPCs from an implementation of it (the app's in-process adapter)."""

    def __init__(
        self,
        protocol: type,
        rpcs: Mapping[str, Rpc],
        messages: ModuleType,
        implementation: Callable[[], object],
    ) -> None:
        self.bindings = bind(protocol, rpcs, messages)
        self.service_name = service_of(messages).full_name
        self._implementation = implementation

    def handlers(self, implementation: object) -> dict[str, grpc.RpcMethodHandler]:
        def handler(binding: Binding) -> Callable[[Message, grpc.ServicerContext], Message]:
            operation = getattr(implementation, binding.method)

            def handle(request: Message, context: grpc.ServicerContext) -> Message:
                return binding.response(operation(**binding.arguments(request)))

            return handle

        return {
            b.rpc.name: grpc.unary_unary_rpc_method_handler(
                handler(b),
                request_deserializer=b.request_class.FromString,
                response_serializer=b.response_class.SerializeToString,
            )
            for b in self.bindings.values()
        }

    def register(self, server: grpc.Server, implementation: object | None = None) -> None:
        """Serve the RPCs on `server` from `implementation` (by default, a new one from the
        factory given at construction)."""
        if implementation is None:
            implementation = self._implementation()
        handlers = self.handlers(implementation)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(self.service_name, handlers),)
        )
