# the output of sign-ed-simple verifies
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/sign-ed-simple.ref
