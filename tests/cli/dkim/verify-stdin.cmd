# the message on standard input, no FILE
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone
stdin @CASES@/signed-rsa.eml
