# --length adds l=
smexop dkim sign --domain example.com --timestamp 1790000000 --selector ed --key @DATA@/dkim/ed25519.pem --length @CASES@/msg.eml
