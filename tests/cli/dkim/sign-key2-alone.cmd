# --key2 needs --selector2
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/rsa2048.pem --key2 @DATA@/dkim/ed25519.pem @CASES@/msg.eml
exit 2
