# --key is required
smexop dkim sign --domain example.com --timestamp 1790000000 --selector rsa2048 @CASES@/msg.eml
exit 2
