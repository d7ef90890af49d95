# 1024-bit RSA is the minimum and passes
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone --json @CASES@/signed-rsa1024.eml
