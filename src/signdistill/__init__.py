"""SignDistill: continuous sign language recognition with knowledge distillation."""

__version__ = "0.1.0"
