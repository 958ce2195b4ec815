"""A small probabilistic sentence model for SynthSign: a category Markov chain with word bigrams.

Weather forecasts are repetitive: a time, a region, a weather word, a quality... The chain over word
categories gives that structure, and each word's own preferences over the next category's words
(a peaked Dirichlet draw) make neighbouring glosses predictable, so temporal context helps recognition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signdistill.synth.lexicon import Gloss

CATEGORIES = ("time", "region", "weather", "quality", "degree", "number", "verb", "thing", "pronoun",
              "particle")
# Row: from-category, columns in CATEGORIES order; "start" gives the first token's category.
_TRANSITIONS = {
    "start":    (5, 3, 2, 0.5, 0.5, 0.3, 0.5, 1, 2, 1),
    "time":     (0.5, 5, 3, 1, 0.5, 0.3, 1, 0.5, 1, 0.5),
    "region":   (1, 0.5, 5, 2, 1, 0.3, 1, 0.5, 0.3, 0.5),
    "weather":  (1, 2, 1, 4, 2, 1, 2, 0.3, 0.3, 1),
    "quality":  (1, 2, 3, 0.5, 0.5, 0.5, 1, 1, 0.5, 1),
    "degree":   (0.3, 0.5, 2, 4, 0.3, 1, 1, 0.5, 0.3, 0.3),
    "number":   (0.3, 0.3, 0.5, 1, 0.3, 2, 0.5, 2, 0.3, 0.5),
    "verb":     (1, 1, 0.5, 0.5, 1, 0.5, 0.3, 3, 0.5, 1),
    "thing":    (1, 0.5, 0.5, 1, 0.5, 0.5, 3, 0.5, 0.5, 1),
    "pronoun":  (0.5, 0.3, 0.3, 0.5, 0.5, 0.3, 4, 1, 0.3, 0.5),
    "particle": (1, 1, 1, 0.5, 0.5, 0.5, 1, 1, 2, 0.3),
}


@dataclass
class SentenceModel:
    """Samples gloss sequences of 3-12 signs (see module docstring)."""

    glosses: list[Gloss]
    seed: int
    mean_length: float = 6.0
    min_length: int = 3
    max_length: int = 12

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 11])
        self._by_category = {c: [i for i, g in enumerate(self.glosses) if g.category == c] for c in CATEGORIES}
        present = np.array([len(self._by_category[c]) > 0 for c in CATEGORIES], float)
        self._category_p = {}
        for name, row in _TRANSITIONS.items():
            p = np.asarray(row, float) * present
            self._category_p[name] = p / p.sum()
        # word-level preferences: each gloss prefers a few successors within every category
        self._word_p = {
            (i, c): rng.dirichlet(np.full(len(members), 0.3))
            for i in range(len(self.glosses)) for c, members in self._by_category.items() if members
        }
        self._first_p = {c: rng.dirichlet(np.full(len(m), 0.5)) for c, m in self._by_category.items() if m}

    def sample_length(self, rng: np.random.Generator) -> int:
        extra = rng.poisson(max(self.mean_length - self.min_length, 0.0))
        return int(np.clip(self.min_length + extra, self.min_length, self.max_length))

    def sample(self, rng: np.random.Generator) -> list[Gloss]:
        length = self.sample_length(rng)
        category = CATEGORIES[rng.choice(len(CATEGORIES), p=self._category_p["start"])]
        members = self._by_category[category]
        current = members[rng.choice(len(members), p=self._first_p[category])]
        out = [current]
        while len(out) < length:
            category = CATEGORIES[rng.choice(len(CATEGORIES), p=self._category_p[self.glosses[current].category])]
            members = self._by_category[category]
            current = members[rng.choice(len(members), p=self._word_p[(current, category)])]
            out.append(current)
        return [self.glosses[i] for i in out]
