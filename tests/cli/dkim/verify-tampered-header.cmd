# one byte of the signed Subject changed after signing
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/tampered-header.eml
