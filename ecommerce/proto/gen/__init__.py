"""Generated from ecommerce/proto; never edit."""
