"""The gRPC contracts (`<service>/v1/*.proto`) and, in `gen`, the Python code generated from them."""
