# Ed25519, simple/simple
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-ed.eml
