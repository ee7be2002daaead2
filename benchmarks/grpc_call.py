"""One port call three ways: in-process, over our gRPC adapter, and a bare grpcio unary call.

`ProductPort.get` on one product. The bare call is the floor: a plain channel, no interceptors,
no mapping, and a handler that answers the same pre-serialised response bytes. Our adapter is
measured twice: against the real `serve product` process (the call the platform makes, a
database read included) and against a servicer whose port answers from memory, so the ratio to
the floor is the cost of our plumbing alone (deadline, retry policy, token, trace, metrics,
error mapping, DTO <-> message). Server and client are separate processes, as in production.

    python -m benchmarks.grpc_call [--calls 3000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack

from benchmarks.product_service import ROOT, scratch_setup, serve_product


def _serve_fixed(port: int, payload_product_id: int) -> None:
    """A servicer over a port that answers from memory (our plumbing, no database)."""
    import django

    django.setup()
    from apps.product.adapters import LocalProductAdapter
    from ecommerce.contracts.product.port import ProductData
    from ecommerce.transports.grpc.contracts import CONTRACTS
    from ecommerce.transports.grpc.server import build_server

    servicer = CONTRACTS["product"].servicer(LocalProductAdapter)

    answer = _product(payload_product_id, ProductData)

    from apps.product.adapters import LocalProductAdapter

    class MemoryPort(LocalProductAdapter):
        def get(self, product_id):
            return answer

    def register(server):
        servicer.register(server, MemoryPort())

    server, _, _ = build_server(
        register=register,
        service_names=(servicer.service_name,),
        address=f"127.0.0.1:{port}",
    )
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def _serve_bare(port: int, payload_product_id: int) -> None:
    """grpcio and nothing else: the same response bytes for every call."""
    from concurrent import futures

    import grpc

    from ecommerce.contracts.product.port import ProductData
    from ecommerce.transports.grpc.gen.product.v1 import product_pb2 as pb
    from ecommerce.transports.grpc.messages import fill

    response = pb.GetProductResponse()
    fill(response.product, _product(payload_product_id, ProductData))
    payload = response.SerializeToString()
    handler = grpc.method_handlers_generic_handler(
        "product.v1.ProductService",
        {"GetProduct": grpc.unary_unary_rpc_method_handler(lambda request, context: payload)},
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def _product(product_id: int, cls):
    return cls(
        id=product_id,
        sku="BENCH-0001",
        name="Ethiopia Yirgacheffe",
        description="Ethiopia Yirgacheffe, from our coffee range.",
        price=1450,
        currency="USD",
        category_id=1,
        category_slug="coffee",
        is_active=True,
        stock=120,
    )


def timed(calls_by_name: dict, calls: int) -> dict[str, list[float]]:
    """Round-robin: one call of each kind in turn, so load from other work on the machine falls
    on every kind alike instead of on whichever happened to run at that moment."""
    for _ in range(min(300, calls // 5)):
        for call in calls_by_name.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls_by_name}
    clock = time.perf_counter
    for _ in range(calls):
        for name, call in calls_by_name.items():
            started = clock()
            call()
            samples[name].append((clock() - started) * 1e6)
    return samples


def summary(samples: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    mean = statistics.fmean(samples)
    return p50, p99, mean, 1e6 / mean


def _spawn(stack: ExitStack, args: list[str], env: dict[str, str]) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.grpc_call", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    stack.callback(lambda: (child.terminate(), child.wait(10)))
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{args[0]} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--serve-fixed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--product-id", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fixed:
        return _serve_fixed(args.serve_fixed, args.product_id)
    if args.serve_bare:
        return _serve_bare(args.serve_bare, args.product_id)
    return run(args.calls)


def run(calls: int) -> None:
    from benchmarks.saga import free_port

    with ExitStack() as stack:
        env = scratch_setup(stack)
        import grpc
        from django.conf import settings

        from apps.product.adapters import LocalProductAdapter
        from ecommerce.transports.grpc.contracts import CONTRACTS

        GrpcProductAdapter = CONTRACTS["product"].client  # noqa: N806 - a class
        from apps.product.models import Category, Product
        from ecommerce.contracts.product.port import ProductData
        from ecommerce.transports.grpc.gen.product.v1 import product_pb2 as pb
        from ecommerce.transports.grpc.messages import from_message

        category = Category.objects.create(name="Coffee", slug="coffee")
        product = Product.objects.create(
            sku="BENCH-0001",
            name="Ethiopia Yirgacheffe",
            description="Ethiopia Yirgacheffe, from our coffee range.",
            price=1450,
            currency="USD",
            category=category,
            stock=120,
        )
        real_port = serve_product(stack, env)
        fixed_port, bare_port = free_port(), free_port()
        _spawn(stack, ["--serve-fixed", str(fixed_port), "--product-id", str(product.pk)], env)
        _spawn(stack, ["--serve-bare", str(bare_port), "--product-id", str(product.pk)], env)

        local = LocalProductAdapter()
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{real_port}"}
        remote = GrpcProductAdapter()
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "product": f"127.0.0.1:{fixed_port}"}
        plumbing = GrpcProductAdapter()
        assert local.get(product.pk) == remote.get(product.pk) == plumbing.get(product.pk)

        bare_channel = grpc.insecure_channel(f"127.0.0.1:{bare_port}")
        stack.callback(bare_channel.close)
        bare_call = bare_channel.unary_unary("/product.v1.ProductService/GetProduct")
        request = pb.GetProductRequest(product_id=product.pk).SerializeToString()
        reply = bare_call(request, timeout=3)
        assert from_message(ProductData, pb.GetProductResponse.FromString(reply).product) == (
            local.get(product.pk)
        )

        rows = [
            ("in-process adapter (ORM, PostgreSQL)", lambda: local.get(product.pk)),
            ("bare grpcio call, same payload (floor)", lambda: bare_call(request, timeout=3)),
            ("our gRPC adapter, servicer from memory", lambda: plumbing.get(product.pk)),
            ("our gRPC adapter, `serve product` (DB read)", lambda: remote.get(product.pk)),
        ]
        print(
            f"ProductPort.get, one product ({len(reply)}-byte response); {platform.node()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, grpcio "
            f"{grpc.__version__}; {calls} calls of each kind, round-robin, after warm-up; other work may "
            "have been running on this machine"
        )
        print(f"{'':46} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8} {'calls/s':>8}")
        results = {}
        samples = timed(dict(rows), calls)
        for name, _ in rows:
            p50, p99, mean, rate = summary(samples[name])
            results[name] = p50
            print(f"{name:46} {p50:>8.0f} {p99:>8.0f} {mean:>8.0f} {rate:>8.0f}")
        floor = results[rows[1][0]]
        ours = results[rows[2][0]]
        verdict = "met" if ours <= 1.5 * floor else "missed"
        print(
            f"\nour adapter / bare call (p50, same work on the server): {ours / floor:.2f}x "
            f"(goal <= 1.5x: {verdict})"
        )
        print(
            f"going remote for this call (real service / in-process, p50): "
            f"{results[rows[3][0]] / results[rows[0][0]]:.2f}x"
        )


if __name__ == "__main__":
    main()
