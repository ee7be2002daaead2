"""Generated from ecommerce/contracts/*/v1/*.proto by ecommerce/grpc/generate.py; never edit."""
