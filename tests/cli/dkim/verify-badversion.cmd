# a key record with v=DKIM2
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-badversion.eml
