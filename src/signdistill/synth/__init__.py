"""SynthSign: the embedded synthetic signing corpus (renderer, lexicon, grammar, corpus writer)."""
