# the output of sign-rsa verifies
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/sign-rsa.ref
