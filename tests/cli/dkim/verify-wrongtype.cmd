# a=rsa-sha256 against a k=ed25519 key
smexop dkim verify --now 1790000100 --dns-zone @DATA@/dkim/keys.zone @CASES@/signed-wrongtype.eml
