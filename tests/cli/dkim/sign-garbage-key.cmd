# a --key that is not a key
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @DATA@/dkim/garbage.pem @CASES@/msg.eml
exit 2
