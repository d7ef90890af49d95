# --identity adds i=
smexop dkim sign --domain example.com --timestamp 1790000000 --selector ed --key @DATA@/dkim/ed25519.pem --identity alice@example.com @CASES@/msg.eml
