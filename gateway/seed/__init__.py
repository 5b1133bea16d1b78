"""A deterministic demo programme (Kartu Prakerja, mid-2020) for an empty, migrated database.

``seed_database`` writes regions, schemes and waves, every partner, the training catalogue,
and ``participants`` registrants of whom about one in five became recipients and went on to
buy, attend and complete trainings and be paid incentives. A fixed random seed drives it all.
``seed_full_database`` loads the programme at the seed's full scale (15.9 million
registrants), generated inside PostgreSQL (``gateway/seed/full.py``).
"""

from gateway.seed.seeder import (
    SeedReport,
    database_is_empty,
    seed_database,
    seed_full_database,
)

__all__ = ["SeedReport", "database_is_empty", "seed_database", "seed_full_database"]
