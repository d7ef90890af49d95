# --json: one object per signature
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone --json @CASES@/signed-dual.eml
