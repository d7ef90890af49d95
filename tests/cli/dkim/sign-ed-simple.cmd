# Ed25519, simple/simple
smexop dkim sign --domain example.com --timestamp 1790000000 --selector ed --key @DATA@/dkim/ed25519.pem --canon simple/simple @CASES@/msg.eml
