# the output of sign-relaxed-simple verifies
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/sign-relaxed-simple.ref
