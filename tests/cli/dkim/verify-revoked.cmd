# a key record with an empty p= (revoked)
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-revoked.eml
