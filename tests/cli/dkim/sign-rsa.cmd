# RSA-2048, default relaxed/relaxed and header list; deterministic with --timestamp
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/rsa2048.pem @CASES@/msg.eml
