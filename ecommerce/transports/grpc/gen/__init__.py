"""Generated from ecommerce/contracts/*/v1/*.proto by ecommerce/transports/grpc/generate.py; never edit."""
