# a --key that is not there
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 --key @TMP@/none.pem @CASES@/msg.eml
exit 2
