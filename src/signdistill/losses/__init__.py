"""Distillation and auxiliary losses of the reproduced methods (core: torch only)."""
