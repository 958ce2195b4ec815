"""Reports of trained runs: WER and cost tables, comparisons against the papers' numbers, training curves."""
