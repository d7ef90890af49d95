# --verify: both DKIM signatures broken by a list footer, the list's ARC set passes (keys from tests/data/auth/auth.zone)
smexop analyze --verify --now 1790000100 --dns-zone @DATA@/auth/auth.zone @DATA@/analyze/list-sealed.eml
