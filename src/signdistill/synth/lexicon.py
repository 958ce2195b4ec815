"""Phonology of SynthSign glosses: hand shapes, locations, movements, palm orientation, mouth patterns.

A gloss is a small phonological record in the spirit of sign-language notation systems (HamNoSys):
the dominant hand's shape, an optional second hand, start and end locations relative to the body, a
movement, the palm orientation and, for some glosses, a mouth pattern. The lexicon is built in
*families* so that glosses are confusable the way real signs are: a base sign and variants that differ
in exactly one parameter (hand shape, movement direction, speed, or mouth pattern).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from signdistill.synth.words import OFF_GLOSS, ON_GLOSS, all_words, compound_words

# Per finger (thumb, index, middle, ring, pinky): flexion of the base joint and of the two distal
# joints (0 = straight, 1 = fully bent), then the finger spread (0 = together, 1 = fully spread) and the
# thumb's opposition across the palm (0 = alongside, 1 = across).
HANDSHAPES: dict[str, dict[str, tuple[float, ...] | float]] = {
    "FLAT": {"base": (0.0, 0.0, 0.0, 0.0, 0.0), "tip": (0.0, 0.0, 0.0, 0.0, 0.0), "spread": 0.0, "opp": 0.1},
    "OPEN5": {"base": (0.0, 0.0, 0.0, 0.0, 0.0), "tip": (0.0, 0.0, 0.0, 0.0, 0.0), "spread": 1.0, "opp": 0.0},
    "FIST": {"base": (0.3, 1.0, 1.0, 1.0, 1.0), "tip": (0.5, 1.0, 1.0, 1.0, 1.0), "spread": 0.0, "opp": 0.9},
    "INDEX": {"base": (0.3, 0.0, 1.0, 1.0, 1.0), "tip": (0.5, 0.0, 1.0, 1.0, 1.0), "spread": 0.0, "opp": 0.9},
    "HOOK": {"base": (0.3, 0.1, 1.0, 1.0, 1.0), "tip": (0.5, 0.9, 1.0, 1.0, 1.0), "spread": 0.0, "opp": 0.9},
    "V": {"base": (0.3, 0.0, 0.0, 1.0, 1.0), "tip": (0.5, 0.0, 0.0, 1.0, 1.0), "spread": 1.0, "opp": 0.9},
    "W": {"base": (0.3, 0.0, 0.0, 0.0, 1.0), "tip": (0.5, 0.0, 0.0, 0.0, 1.0), "spread": 1.0, "opp": 0.9},
    "Y": {"base": (0.0, 1.0, 1.0, 1.0, 0.0), "tip": (0.0, 1.0, 1.0, 1.0, 0.0), "spread": 1.0, "opp": 0.0},
    "L": {"base": (0.0, 0.0, 1.0, 1.0, 1.0), "tip": (0.0, 0.0, 1.0, 1.0, 1.0), "spread": 1.0, "opp": 0.0},
    "CLAW": {"base": (0.1, 0.2, 0.2, 0.2, 0.2), "tip": (0.4, 0.8, 0.8, 0.8, 0.8), "spread": 1.0, "opp": 0.3},
    "C": {"base": (0.1, 0.35, 0.35, 0.35, 0.35), "tip": (0.2, 0.45, 0.45, 0.45, 0.45), "spread": 0.1, "opp": 0.4},
    "O": {"base": (0.3, 0.55, 0.55, 0.55, 0.55), "tip": (0.4, 0.65, 0.65, 0.65, 0.65), "spread": 0.0, "opp": 0.8},
    "PINKY": {"base": (0.3, 1.0, 1.0, 1.0, 0.0), "tip": (0.5, 1.0, 1.0, 1.0, 0.0), "spread": 0.3, "opp": 0.9},
    "HORNS": {"base": (0.3, 0.0, 1.0, 1.0, 0.0), "tip": (0.5, 0.0, 1.0, 1.0, 0.0), "spread": 1.0, "opp": 0.9},
    "THUMB": {"base": (0.0, 1.0, 1.0, 1.0, 1.0), "tip": (0.0, 1.0, 1.0, 1.0, 1.0), "spread": 0.0, "opp": 0.0},
    "BENT": {"base": (0.1, 0.9, 0.9, 0.9, 0.9), "tip": (0.0, 0.0, 0.0, 0.0, 0.0), "spread": 0.0, "opp": 0.2},
    "THREE": {"base": (0.0, 0.0, 0.0, 1.0, 1.0), "tip": (0.0, 0.0, 0.0, 1.0, 1.0), "spread": 1.0, "opp": 0.0},
}
HANDSHAPE_NAMES = tuple(HANDSHAPES)
# Shapes that differ in one or two fingers: distinct at 112-224 px, a blur at 32-48 px.
MINIMAL_SHAPE_PAIRS = (
    ("INDEX", "HOOK"), ("V", "W"), ("FIST", "THUMB"), ("Y", "PINKY"), ("L", "THREE"),
    ("FLAT", "OPEN5"), ("C", "O"), ("HORNS", "V"), ("CLAW", "OPEN5"), ("FLAT", "BENT"),
)

# Locations of the active hand's palm centre in body units (shoulder width = 1, origin at the base of
# the neck, x to the image's right, y down) for the dominant (right) hand; the left hand mirrors x.
LOCATIONS: dict[str, tuple[float, float]] = {
    "forehead": (-0.08, -0.95), "eye": (-0.18, -0.78), "cheek": (-0.30, -0.62), "chin": (-0.02, -0.42),
    "mouth": (-0.04, -0.52), "ear": (-0.42, -0.72), "neck": (-0.05, -0.18), "shoulder_other": (0.32, 0.08),
    "shoulder": (-0.40, 0.10), "chest": (-0.05, 0.35), "chest_side": (-0.30, 0.38), "stomach": (-0.10, 0.85),
    "neutral": (-0.25, 0.55), "neutral_high": (-0.35, 0.05), "neutral_low": (-0.30, 0.95),
    "side": (-0.62, 0.55), "side_high": (-0.62, 0.00), "front_center": (0.05, 0.60),
}
LOCATION_NAMES = tuple(LOCATIONS)
# Signs in front of the face or across the body are rarer than in neutral space (they also hide the hand
# from detectors more often).
_FACE_OR_CROSSING = {"forehead", "eye", "cheek", "chin", "mouth", "ear", "shoulder_other", "neck"}
LOCATION_WEIGHTS = np.array([0.4 if name in _FACE_OR_CROSSING else 1.0 for name in LOCATION_NAMES])
LOCATION_WEIGHTS = LOCATION_WEIGHTS / LOCATION_WEIGHTS.sum()
# Hands at rest lie apart, low on the body: touching hands are lost by detectors (see motion.MIN_HAND_GAP).
REST_LOCATION = (-0.60, 1.10)

MOVEMENTS = ("straight", "arc", "circle", "tap", "wiggle")
MOUTH_PATTERNS = ("pa", "oo", "ee", "ah", "mm", "fff")

# Palm orientation as (in-plane angle of the fingers in degrees, 0 = pointing to the image's right,
# -90 = up; facing: 0 = palm to the camera, 90 = palm to the body's midline, 180 = back of hand).
ORIENTATIONS: dict[str, tuple[float, float]] = {
    "up_front": (-90.0, 0.0), "up_tilt": (-70.0, 15.0), "up_back": (-90.0, 165.0),
    "in_front": (-20.0, 10.0), "in_tilt": (-10.0, 20.0), "in_back": (-15.0, 160.0),
    "diag_front": (-55.0, 20.0), "out_up": (-120.0, 10.0), "out_front": (-150.0, 15.0),
}
# Hands seen edge-on (facing near 90 degrees) or pointing down are left out of the lexicon: MediaPipe,
# like most hand detectors, misses them, and the keypoint stream must be usable on this corpus.
REST_ORIENTATION = (-45.0, 30.0)
ORIENTATION_NAMES = tuple(ORIENTATIONS)


@dataclass(frozen=True)
class Gloss:
    """One sign of the SynthSign lexicon (see module docstring)."""

    name: str
    category: str
    handshape: str
    end_handshape: str
    start: str
    end: str
    movement: str
    direction: int  # +1 / -1: arc bulge side, circle sense, tap towards end or away
    orientation: str
    second_hand: str  # "none", "mirror" (symmetric two-handed) or "base" (static passive hand)
    base_handshape: str
    mouth: str  # "" or one of MOUTH_PATTERNS
    duration: float  # frames at tempo 1.0, 25 fps
    repeats: int  # taps, circle turns or wiggle cycles
    family: int  # glosses of one family differ in one parameter only
    contrast: str  # which parameter distinguishes this gloss from its family's base ("" for the base)

    def to_dict(self) -> dict:
        return asdict(self)


def _random_gloss(rng: np.random.Generator, name: str, category: str, family: int) -> Gloss:
    movement = str(rng.choice(MOVEMENTS, p=[0.3, 0.2, 0.15, 0.2, 0.15]))
    start = str(rng.choice(LOCATION_NAMES, p=LOCATION_WEIGHTS))
    end = start if movement in ("circle", "wiggle") else str(rng.choice(LOCATION_NAMES, p=LOCATION_WEIGHTS))
    if movement in ("straight", "arc") and end == start:
        end = "neutral" if start != "neutral" else "chest"
    shape = str(rng.choice(HANDSHAPE_NAMES))
    end_shape = shape if rng.random() < 0.8 else str(rng.choice(HANDSHAPE_NAMES))
    second = str(rng.choice(["none", "mirror", "base"], p=[0.6, 0.25, 0.15]))
    return Gloss(
        name=name, category=category, handshape=shape, end_handshape=end_shape, start=start, end=end,
        movement=movement, direction=int(rng.choice([-1, 1])), orientation=str(rng.choice(ORIENTATION_NAMES)),
        second_hand=second, base_handshape=str(rng.choice(["FLAT", "FIST", "C", "OPEN5"])),
        mouth=str(rng.choice(MOUTH_PATTERNS)) if rng.random() < 0.25 else "",
        duration=float(rng.uniform(9.0, 14.0)), repeats=int(rng.integers(2, 4)), family=family, contrast="",
    )


def _variant(rng: np.random.Generator, base: Gloss, name: str, category: str, contrast: str) -> Gloss:
    """A minimal-pair partner of ``base`` that differs only in ``contrast``."""
    if contrast == "handshape":
        partners = [b if a == base.handshape else a for a, b in MINIMAL_SHAPE_PAIRS if base.handshape in (a, b)]
        shape = str(rng.choice(partners)) if partners else "FLAT" if base.handshape != "FLAT" else "OPEN5"
        end_shape = shape if base.end_handshape == base.handshape else base.end_handshape
        return replace(base, name=name, category=category, handshape=shape, end_handshape=end_shape,
                       contrast=contrast)
    if contrast == "direction":
        if base.movement in ("straight", "arc") and base.start != base.end:
            return replace(base, name=name, category=category, start=base.end, end=base.start,
                           contrast=contrast)
        return replace(base, name=name, category=category, direction=-base.direction, contrast=contrast)
    if contrast == "speed":
        factor = 0.55 if base.duration > 11 else 1.7
        return replace(base, name=name, category=category, duration=base.duration * factor, contrast=contrast)
    if contrast == "mouth":
        options = [m for m in MOUTH_PATTERNS if m != base.mouth]
        return replace(base, name=name, category=category, mouth=str(rng.choice(options)), contrast=contrast)
    raise ValueError(f"unknown contrast {contrast!r}")


def _contrast_for(base: Gloss, rng: np.random.Generator) -> str:
    options = ["handshape", "direction", "mouth"]
    if base.movement in ("straight", "arc", "tap"):
        options.append("speed")
    return str(rng.choice(options))


def phonological_key(gloss: Gloss) -> tuple:
    """Everything that makes a gloss look and move the way it does (two glosses must never share it)."""
    fields = gloss.to_dict()
    for label in ("name", "category", "family", "contrast"):
        fields.pop(label)
    fields["duration"] = round(fields["duration"], 1)
    return tuple(sorted(fields.items()))


def build_lexicon(num_glosses: int, seed: int, family_size: float = 2.0) -> list[Gloss]:
    """Sample ``num_glosses`` glosses, in families of about ``family_size`` minimal pairs.

    Words are taken from every category in turn so that even small lexicons can form forecast-like
    sentences; beyond the hand-written words, hyphenated compounds of real words are used. Every gloss
    has a distinct phonological form; a variant that would repeat one starts a new family instead.
    """
    rng = np.random.default_rng(seed)
    glosses: list[Gloss] = []
    used: set[tuple] = set()
    family = -1
    base: Gloss | None = None
    members_left = 0
    for name, category in _balanced_words(num_glosses):
        gloss = None
        if members_left > 0 and base is not None:
            members_left -= 1
            for _ in range(6):
                candidate = _variant(rng, base, name, category, _contrast_for(base, rng))
                if phonological_key(candidate) not in used:
                    gloss = candidate
                    break
        while gloss is None or phonological_key(gloss) in used:
            family += 1
            gloss = base = _random_gloss(rng, name, category, family)
            members_left = int(rng.poisson(family_size - 1.0)) if family_size > 1 else 0
        used.add(phonological_key(gloss))
        glosses.append(gloss)
    return glosses


def _balanced_words(count: int) -> list[tuple[str, str]]:
    words = all_words()
    if count > len(words):
        return words + compound_words(count - len(words))
    by_category: dict[str, list[str]] = {}
    for word, category in words:
        by_category.setdefault(category, []).append(word)
    picked: list[tuple[str, str]] = []
    depth = 0
    while len(picked) < count:
        for category, names in by_category.items():
            if depth < len(names) and len(picked) < count:
                picked.append((names[depth], category))
        depth += 1
    return picked


def rest_glosses() -> list[Gloss]:
    """``__ON__`` and ``__OFF__``: hands at rest below the chest, as at the ends of PHOENIX videos."""
    rest = dict(end_handshape="FLAT", handshape="FLAT", start="stomach", end="stomach", movement="straight",
                direction=1, orientation="in_front", second_hand="mirror", base_handshape="FLAT", mouth="",
                duration=6.0, repeats=1, family=-1, contrast="", category="rest")
    return [Gloss(name=ON_GLOSS, **rest), Gloss(name=OFF_GLOSS, **rest)]
