"""Gloss vocabulary: the mapping between gloss strings and CTC class ids.

The convention is fixed by the data contract so that checkpoints, decoders and reports agree: the CTC
blank is id 0, the glosses follow in sorted order from id 1, and the vocabulary is built from the
training split only, so dev/test glosses that training never saw are reported instead of dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

BLANK = "<blank>"


@dataclass(frozen=True)
class Vocabulary:
    """Sorted gloss list (without blank); ``len()`` counts classes including the blank."""

    glosses: tuple[str, ...]
    _ids: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        glosses = tuple(self.glosses)
        if BLANK in glosses:
            raise ValueError(f"the gloss {BLANK!r} is reserved for the CTC blank")
        if list(glosses) != sorted(set(glosses)):
            raise ValueError("glosses must be sorted and unique (use Vocabulary.from_sequences)")
        object.__setattr__(self, "glosses", glosses)
        object.__setattr__(self, "_ids", {gloss: index for index, gloss in enumerate(glosses, start=1)})

    @classmethod
    def from_sequences(cls, seqs: Iterable[Sequence[str]]) -> Vocabulary:
        """Build from gloss sequences, normally those of the training split."""
        return cls(tuple(sorted({gloss for seq in seqs for gloss in seq})))

    def __len__(self) -> int:
        return len(self.glosses) + 1

    def __contains__(self, gloss: object) -> bool:
        return gloss in self._ids

    @property
    def blank_id(self) -> int:
        """Id of the CTC blank (always 0)."""
        return 0

    def encode(self, glosses: Iterable[str]) -> list[int]:
        """Gloss strings to ids; raises ``KeyError`` naming the first gloss not in the vocabulary."""
        ids = []
        for gloss in glosses:
            if gloss not in self._ids:
                raise KeyError(f"gloss {gloss!r} is not in the vocabulary ({len(self.glosses)} glosses)")
            ids.append(self._ids[gloss])
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to gloss strings, skipping the blank; raises ``IndexError`` for an id out of range."""
        glosses = []
        for index in ids:
            index = int(index)  # noqa: PLW2901 - accept numpy/torch integers
            if index == 0:
                continue
            if not 0 < index <= len(self.glosses):
                raise IndexError(f"id {index} is outside the vocabulary (0..{len(self.glosses)})")
            glosses.append(self.glosses[index - 1])
        return glosses

    def unknown(self, glosses: Iterable[str]) -> list[str]:
        """Glosses not in the vocabulary, in order of first appearance, without repeats."""
        return list(dict.fromkeys(gloss for gloss in glosses if gloss not in self._ids))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form that records the blank convention alongside the glosses."""
        return {"blank": BLANK, "blank_id": 0, "glosses": list(self.glosses)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`; refuses a file written with another blank convention."""
        if data.get("blank", BLANK) != BLANK or data.get("blank_id", 0) != 0:
            raise ValueError(
                f"vocabulary uses blank {data.get('blank')!r} at id {data.get('blank_id')}, "
                f"expected {BLANK!r} at id 0"
            )
        return cls(tuple(data["glosses"]))
