"""fieldops: AI data-hall build-out work orders, cable plans, labels and robot orders."""

__version__ = "0.1.0"
