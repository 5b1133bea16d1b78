"""The catalog response cache: whole GraphQL answers of catalog reads, per caller class,
dropped in every gateway process the moment a catalog row changes (LISTEN/NOTIFY)."""
