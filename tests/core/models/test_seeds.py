from glass_core.models.seeds import derive_seed


def test_seed_is_deterministic_and_keyed_on_every_field():
    base = derive_seed("abm", 0.05, 3, 11)
    assert base == derive_seed("abm", 0.050, 3, 11)
    variants = {
        derive_seed("kam", 0.05, 3, 11),
        derive_seed("abm", 2.0, 3, 11),
        derive_seed("abm", 0.05, 4, 11),
        derive_seed("abm", 0.05, 3, 12),
        derive_seed("abm", 0.05, 3, 11, "replica-0"),
    }
    assert base not in variants and len(variants) == 5


def test_seed_in_lammps_range():
    seeds = [derive_seed("abm", 0.3, k, 1) for k in range(2000)]
    assert min(seeds) >= 1 and max(seeds) < 2**31 - 1
    assert len(set(seeds)) == len(seeds)
