# --expire adds x=
smexop dkim sign --domain example.com --timestamp 1790000000 --selector ed --key @DATA@/dkim/ed25519.pem --expire 3600 @CASES@/msg.eml
