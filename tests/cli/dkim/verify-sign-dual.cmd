# the output of sign-dual verifies
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/sign-dual.ref
