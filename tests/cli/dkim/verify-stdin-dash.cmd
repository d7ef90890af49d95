# FILE '-' is standard input
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone -
stdin @CASES@/signed-ed.eml
