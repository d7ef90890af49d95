# --headers picks the signed fields
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/rsa2048.pem --headers from:to:subject @CASES@/msg.eml
