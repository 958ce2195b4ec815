"""Signer identities: body proportions, camera placement, colours, tempo."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from signdistill.synth.body import BodyShape
from signdistill.synth.render import Appearance

_SKIN = [(241, 200, 170), (224, 172, 140), (198, 140, 105), (160, 105, 75), (120, 78, 55), (235, 190, 160)]
_CLOTHES = [(30, 32, 40), (45, 40, 38), (20, 40, 70), (60, 25, 30), (35, 55, 40), (70, 70, 78), (25, 25, 28)]
_HAIR = [(40, 28, 20), (90, 60, 35), (20, 18, 18), (160, 120, 70), (120, 110, 105), (70, 40, 25)]
_BACKGROUND = [(150, 160, 170), (140, 150, 160), (170, 170, 165), (130, 145, 150), (160, 150, 140)]


@dataclass(frozen=True)
class Signer:
    """One signer: how they look, how they are filmed and how fast they sign."""

    name: str
    shape: BodyShape
    look: Appearance
    tempo: float  # multiplies every duration: > 1 is slower

    def jittered_shape(self, rng: np.random.Generator) -> BodyShape:
        """The same person filmed on another day: the camera moves a little."""
        s = self.shape
        return BodyShape(s.shoulder_px * rng.uniform(0.97, 1.03), s.neck_x + rng.normal(0, 2),
                         s.neck_y + rng.normal(0, 2), s.head_scale, s.arm_scale, s.hand_scale, s.torso_length)


def make_signer(index: int, seed: int, width: int, height: int) -> Signer:
    rng = np.random.default_rng([seed, index, 7])
    shoulder_px = width * rng.uniform(0.32, 0.40)
    shape = BodyShape(
        shoulder_px=shoulder_px,
        neck_x=width / 2 + rng.uniform(-0.06, 0.06) * width,
        neck_y=height * rng.uniform(0.40, 0.46),
        head_scale=rng.uniform(0.92, 1.08),
        arm_scale=rng.uniform(0.95, 1.08),
        hand_scale=rng.uniform(0.92, 1.08),
        torso_length=rng.uniform(1.6, 1.8),
    )
    look = Appearance(
        skin=_SKIN[int(rng.integers(len(_SKIN)))],
        clothes=_CLOTHES[int(rng.integers(len(_CLOTHES)))],
        hair=_HAIR[int(rng.integers(len(_HAIR)))],
        lips=(int(rng.integers(150, 190)), int(rng.integers(70, 100)), int(rng.integers(80, 100))),
        hair_long=bool(rng.random() < 0.4),
        background=_BACKGROUND[int(rng.integers(len(_BACKGROUND)))],
        texture_seed=int(rng.integers(2**31)),
        noise_sigma=float(rng.uniform(1.5, 4.0)),
        blur=float(rng.uniform(0.03, 0.10)),
    )
    tempo = float(rng.uniform(0.8, 1.25))
    look = replace(look, focus_sigma=float(rng.uniform(0.85, 1.15)))  # drawn last: earlier draws unchanged
    return Signer(f"Signer{index + 1:02d}", shape, look, tempo=tempo)
