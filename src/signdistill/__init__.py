"""SignDistill: continuous sign language recognition with knowledge distillation."""

import os

__version__ = "0.1.0"

# oneDNN (torch's CPU convolutions) keeps every compiled primitive in a cache keyed by layer and input shape, 1024
# entries unless told otherwise. Clips of varying length give nearly every batch new shapes, so the cache fills with
# primitives that are never reused and a training process's memory grows with the number of distinct clip lengths,
# that is with the corpus (docs/scaling.md, "Memory"). A smaller cache still holds a fixed-shape loop's primitives.
# It is read when the first primitive is made, so it must be set before any convolution runs; a user's setting wins.
ONEDNN_PRIMITIVE_CACHE_CAPACITY = "128"
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_PRIMITIVE_CACHE_CAPACITY)
