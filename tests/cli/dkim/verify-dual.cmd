# RSA and Ed25519 signatures on one message, in header order
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-dual.eml
