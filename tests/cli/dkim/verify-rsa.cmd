# RSA-2048, relaxed/relaxed
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-rsa.eml
