# the same as JSON
smexop analyze --json --verify --now 1790000100 --dns-zone @DATA@/auth/auth.zone @DATA@/analyze/list-sealed.eml
