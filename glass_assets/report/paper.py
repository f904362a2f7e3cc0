"""What the papers report, and at which scale: the report's reference column.

Values come from where the platform already keeps them: [O]'s correlation means and conditions and its Fig. 4
maxima from :mod:`glass_core.learning.correlations`, the papers' sizes (N, cooling rate, runs, replicas, split)
from the ``paper`` profile (``glass_assets/profiles.yaml``). [O] Table II's test accuracies are used by no
computation; they are quoted here from the paper. [J] states its results as figures and trends (tGlassMLP's χ4
follows MD; ξ4, ℓ_ch and the attention length grow as T falls), so no number is quoted for it. References:
docs/bibliography.md.
"""

from __future__ import annotations

from functools import cache

from glass_assets.profiles import Profile, load_profile
from glass_core.learning.correlations import OYAMA_ABM_GLASS_MEANS, OYAMA_DYNAMICS_MAXIMUM, OYAMA_GLASS_CONDITIONS

__all__ = [
    "J_TRENDS",
    "OYAMA_ABM_GLASS_MEANS",
    "OYAMA_DYNAMICS_MAXIMUM",
    "OYAMA_GLASS_CONDITIONS",
    "OYAMA_TEST_ACCURACY",
    "TABLE_II_SOURCE",
    "j_scale",
    "large_box_scale",
    "oyama_scale",
    "oyama_test_glasses",
    "propensity_scale",
]

#: [O] Table II: test accuracy of the CNN per class
OYAMA_TEST_ACCURACY: dict[str, dict[str, float]] = {
    "abm": {"glass": 1.00, "liquid": 1.00},
    "kam": {"glass": 1.00, "liquid": 0.998},
}
TABLE_II_SOURCE = "[O] Table II"
#: [J]'s statements the figures are read against ([J] §III–V)
J_TRENDS = (
    "[J]: the tGlassMLP χ4 follows the MD χ4 at the MD temperatures; ξ4, the chord length ℓ_ch "
    "and the attention length ⟨L⟩ grow as T falls. [J] gives these as figures, not as numbers, so the table shows "
    "no paper column."
)


@cache
def _paper() -> Profile:
    return load_profile("paper")


def oyama_scale(system: str) -> str:
    """[O]'s scale for ``system`` from the paper profile: N, cooling rate, runs and their split, CNN input."""
    profile = _paper()
    quench, cnn = profile.quench, profile.cnn
    n = quench.n_samples
    split = "/".join(str(round(f * n)) for f in cnn.split_fractions)
    return (
        f"N = {quench.n_particles.get(system, '?')}, cooling rate {quench.protocol.cooling_rate:g}, {n} quench runs "
        f"(train/validation/test {split}), {cnn.input_kind} input, {cnn.head} head"
    )


def oyama_test_glasses() -> int:
    """Glasses [O] averages its correlations over: the test split of the paper profile's quench runs (600)."""
    profile = _paper()
    return round(profile.cnn.split_fractions[2] * profile.quench.n_samples)


def propensity_scale(system: str) -> str:
    """[O]'s isoconfigurational runs from the paper profile: N, replicas per glass, the time window."""
    profile = _paper()
    return (
        f"N = {profile.quench.n_particles.get(system, '?')}, {profile.propensity.n_replicas} replicas, "
        f"t ≤ {profile.propensity.max_time_for(system):g}"
    )


def j_scale() -> str:
    """[J]'s small boxes from the paper profile: N and the number of swap-MC equilibria per temperature."""
    swap = _paper().swap_mc
    return f"N = {swap.n_particles}, {swap.n_chains * swap.samples_per_chain} swap-MC equilibria per T"


def large_box_scale() -> str:
    """[J]'s large boxes for S4(q): tiles of the small box, N and the number of boxes (paper profile)."""
    profile = _paper()
    tiles = profile.large_box.tiles_per_side
    return (
        f"{tiles} × {tiles} tiles, N = {tiles * tiles * profile.swap_mc.n_particles}, {profile.large_box.n_boxes} boxes"
    )
