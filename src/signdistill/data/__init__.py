"""Corpus readers, vocabulary, frame decoding and the packed frame store (no Kedro imports)."""
