# a bare-LF message signed as it is verifies as it is
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-lf.eml
