# --canon must be simple or relaxed
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/rsa2048.pem --canon loose/simple @CASES@/msg.eml
exit 2
