"""Every partner of the programme: management, platforms, payment partners, providers, offices."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from core.enums import PartnerStatus, PartnerType, RegencyKind
from gateway.seed import names, tables, timeline
from gateway.seed.loader import RowBuffer
from gateway.seed.programme import PlacedRegency

PROVIDER_COUNT: Final = 165


@dataclass(frozen=True, slots=True)
class Platform:
    id: int
    source: names.PlatformSource


@dataclass(frozen=True, slots=True)
class PaymentPartner:
    id: int
    source: names.PaymentPartnerSource


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    code: str
    name: str
    created_at: datetime
    home: PlacedRegency  # where its offline classes mostly take place
    categories: tuple[str, ...]
    weight: float  # how many courses it offers, relatively


@dataclass(frozen=True, slots=True)
class Partners:
    management_id: int
    platforms: tuple[Platform, ...]
    payment_partners: tuple[PaymentPartner, ...]
    providers: tuple[Provider, ...]
    office_by_regency: dict[int, int]  # regency id -> its regional office's partner id


def add_partners(rng: random.Random, buffer: RowBuffer, regencies: list[PlacedRegency]) -> Partners:
    next_id = 1

    def add(code: str, name: str, kind: PartnerType, regency_id: int | None, at: datetime) -> int:
        nonlocal next_id
        partner_id = next_id
        next_id += 1
        row = (partner_id, code, name, kind.value, PartnerStatus.ACTIVE.value, regency_id, at)
        buffer.add(tables.PARTNERS, row)
        return partner_id

    onboarded = timeline.PARTNERS_ONBOARDED
    management_id = add(
        "PMO",
        names.PROGRAMME_MANAGEMENT_NAME,
        PartnerType.PROGRAM_MANAGEMENT,
        None,
        onboarded - timedelta(days=10),
    )
    platforms = tuple(
        Platform(
            add(
                source.code,
                source.name,
                PartnerType.PLATFORM,
                None,
                onboarded + timedelta(hours=index),
            ),
            source,
        )
        for index, source in enumerate(names.PLATFORMS)
    )
    payment_partners = tuple(
        PaymentPartner(
            add(
                source.code,
                source.name,
                PartnerType.PAYMENT_PARTNER,
                None,
                onboarded + timedelta(days=3, hours=index),
            ),
            source,
        )
        for index, source in enumerate(names.PAYMENT_PARTNERS)
    )

    cities = [regency for regency in regencies if regency.kind is RegencyKind.KOTA]
    city_weights = [city.weight for city in cities]
    word_pairs = [(a, b) for a in names.PROVIDER_FIRST_WORDS for b in names.PROVIDER_SECOND_WORDS]
    chosen_pairs = rng.sample(word_pairs, PROVIDER_COUNT)
    providers = []
    # Providers joined over the two weeks before the catalogue opened, in id order.
    joined = sorted(
        timeline.moment_between(rng, onboarded, timeline.CATALOG_OPENS - timedelta(days=2))
        for _ in range(PROVIDER_COUNT)
    )
    for number, ((first, second), created_at) in enumerate(
        zip(chosen_pairs, joined, strict=True), 1
    ):
        code = f"LP-{number:04d}"
        name = rng.choice(names.PROVIDER_PATTERNS).format(a=first, b=second)
        categories = tuple(rng.sample(names.CATEGORIES, rng.choice((1, 1, 2, 2, 3))))
        if number == 1:
            # The first provider teaches the catalogue's flagship Python course.
            categories = (
                names.PYTHON_CATEGORY,
                *(c for c in categories if c != names.PYTHON_CATEGORY),
            )
        home = rng.choices(cities, weights=city_weights)[0]
        partner_id = add(code, name, PartnerType.TRAINING_PROVIDER, None, created_at)
        weight = rng.lognormvariate(0.0, 0.8)
        providers.append(Provider(partner_id, code, name, created_at, home, categories, weight))

    # Offline registration opened through the manpower office of every regency and city.
    office_by_regency = {}
    for regency in regencies:
        office_by_regency[regency.id] = add(
            f"DISNAKER-{regency.code}",
            f"Dinas Tenaga Kerja {regency.name}",
            PartnerType.REGIONAL_OFFICE,
            regency.id,
            onboarded + timedelta(days=20),
        )
    return Partners(management_id, platforms, payment_partners, tuple(providers), office_by_regency)
