"""Every quenched-ensemble check passes on good data and fails on a crafted bad partition."""

import numpy as np
import polars as pl
import pytest

from glass_assets.checks import check_results
from glass_assets.ensembles.checks import ENSEMBLE_CHECKS
from glass_assets.tables import configurations
from glass_core.models.energy import potential_energy
from glass_core.models.systems import get_system
from tests.helpers.configurations import gaussian_jittered_lattice

SYSTEM = get_system("kam")
T = 0.4


def good_partition():
    rng = np.random.default_rng(0)
    configs = [gaussian_jittered_lattice(SYSTEM, 8, rng) for _ in range(2)]
    key = {"system": "kam", "temperature": T, "ensemble": "quenched"}
    samples = pl.DataFrame(
        [
            {
                **key,
                "sample": k,
                "box_x": c.box[0],
                "box_y": c.box[1],
                "potential_energy": potential_energy(c, SYSTEM).total,
            }
            for k, c in enumerate(configs)
        ]
    )
    particles = pl.concat(
        [
            pl.DataFrame(
                {
                    "system": "kam",
                    "sample": k,
                    "particle": np.arange(c.n_particles),
                    "type": c.types,
                    "x": c.positions[:, 0],
                    "y": c.positions[:, 1],
                }
            )
            for k, c in enumerate(configs)
        ]
    )
    t_set = np.concatenate([np.full(20, 4.0), np.linspace(4.0, T, 200), np.full(40, T)])
    phase = ["equil"] * 20 + ["cool"] * 200 + ["hold"] * 40
    curve = -2.0 + 0.8 * t_set + rng.normal(0, 0.02, t_set.size)
    temp = t_set * (1 + rng.normal(0, 0.02, t_set.size))
    curves = pl.concat(
        [
            pl.DataFrame(
                {"sample": k, "phase": phase, "t_set": t_set, "kinetic_temperature": temp, "energy_per_particle": curve}
            )
            for k in range(2)
        ]
    )
    return samples, particles, curves


def outcome(samples, particles, curves):
    configs = configurations(samples, particles)
    results = check_results(
        ENSEMBLE_CHECKS, system=SYSTEM, temperature=T, configs=configs, samples=samples, curves=curves
    )
    return {r.check_name: r.passed for r in results}


def test_good_partition_passes_every_check():
    assert outcome(*good_partition()) == {name: True for name in ENSEMBLE_CHECKS}


def move_particle(particles, x=None, onto=None, shift_box=False):
    xs, ys = particles["x"].to_numpy().copy(), particles["y"].to_numpy().copy()
    if onto is not None:
        xs[1], ys[1] = xs[0] + 0.2, ys[0]
    elif shift_box:  # the same point, one periodic image to the left: outside [0, L)
        xs[1] -= SYSTEM.box_length(64)
    else:
        xs[1] = x
    return particles.with_columns(pl.Series("x", xs), pl.Series("y", ys))


@pytest.mark.parametrize(
    "breaker, failing",
    [
        (lambda s, p, c: (s, move_particle(p, onto=0), c), {"no_overlaps", "lammps_energy_matches_numpy"}),
        (
            lambda s, p, c: (s, move_particle(p, x=np.nan), c),
            {"coordinates_finite_in_box", "lammps_energy_matches_numpy"},
        ),
        (lambda s, p, c: (s, move_particle(p, shift_box=True), c), {"coordinates_finite_in_box"}),
        (
            lambda s, p, c: (s, p, c.with_columns(pl.col("kinetic_temperature") * 1.5)),
            {"kinetic_temperature_on_target"},
        ),
        (
            lambda s, p, c: (
                s,
                p,
                c.with_columns(
                    pl.when((pl.col("phase") == "cool") & (pl.col("t_set") < 1.0))
                    .then(pl.col("energy_per_particle") - 0.4)
                    .otherwise(pl.col("energy_per_particle"))
                    .alias("energy_per_particle")
                ),
            ),
            {"no_crystallisation_jump"},
        ),
        (
            lambda s, p, c: (s.with_columns(pl.col("potential_energy") * (1 + 1e-6)), p, c),
            {"lammps_energy_matches_numpy"},
        ),
    ],
)
def test_each_check_fails_on_its_crafted_bad_partition(breaker, failing):
    results = outcome(*breaker(*good_partition()))
    assert {name for name, passed in results.items() if not passed} == failing
