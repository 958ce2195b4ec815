"""CTC decoding: greedy best path and prefix beam search over ``[T, B, C]`` log-probabilities (no Kedro)."""

from signdistill.decoding.ctc import Hypothesis, beam_search, beam_search_nbest, greedy_decode, viterbi_spikes

__all__ = ["Hypothesis", "beam_search", "beam_search_nbest", "greedy_decode", "viterbi_spikes"]
