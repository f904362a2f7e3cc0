import numpy as np
import pytest

from glass_core.models.systems import SYSTEMS, PotentialForm, UnknownSystemError, get_system


def test_paper_compositions_and_densities():
    assert get_system("abm").composition == (1000, 1000)
    assert get_system("kam").composition == (1300, 700)
    ternary = get_system("ka2d_ternary")
    assert ternary.n_paper == 1290
    assert ternary.density == pytest.approx(1290 / 32.8962**2)
    assert ternary.potential is PotentialForm.LJ_SMOOTH_C2


def test_kam_uses_standard_2d_kob_andersen_energies():
    kam = get_system("kam")
    assert kam.epsilon[0, 1] == 1.5 and kam.epsilon[1, 1] == 0.5
    assert kam.sigma[0, 1] == 0.8 and kam.sigma[1, 1] == 0.88


@pytest.mark.parametrize("name", sorted(SYSTEMS))
@pytest.mark.parametrize("n", [64, 100, 257, 2000])
def test_type_counts_keep_fractions_and_sum(name, n):
    system = get_system(name)
    counts = system.type_counts(n)
    assert counts.sum() == n
    fractions = np.asarray(system.composition) / system.n_paper
    assert np.all(np.abs(counts - fractions * n) < 1)


def test_box_length_gives_density():
    system = get_system("kam")
    assert 500 / system.box_length(500) ** 2 == pytest.approx(system.density)


def test_unknown_system_is_a_clear_error():
    with pytest.raises(UnknownSystemError, match="unknown system 'argon'.*abm"):
        get_system("argon")
